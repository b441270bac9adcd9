"""The production bot's webhook: Telegram posts each update here with the secret token in a
header. The secret is compared in constant time before the body is even read; the update then
joins the bot Application's queue (the Application runs inside this app, see `create_app`)."""

import hmac
import json

from fastapi import APIRouter, Request, Response
from telegram import Update

router = APIRouter(include_in_schema=False)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


@router.post(WEBHOOK_PATH)
async def telegram_webhook(request: Request) -> Response:
    application = request.app.state.telegram
    secret = request.app.state.settings.bot_webhook_secret or ""
    given = request.headers.get(SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return Response(status_code=403)
    try:
        update = Update.de_json(json.loads(await request.body()), application.bot)
    except (ValueError, TypeError, KeyError):
        return Response(status_code=400)
    await application.update_queue.put(update)
    return Response(status_code=200)
