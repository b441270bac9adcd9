"""Jinja2 templates shared by every page, translated through the same Babel catalogs."""

import functools
from pathlib import Path
from typing import Any

from babel.lists import format_list
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from api.accounts.security import csrf_token_for
from billing.exports import category_name
from billing.periods import fund_name
from core import i18n
from core.types import code_name
from kitchen.exports import variant_name

TEMPLATES = Path(__file__).resolve().parent / "templates"


@pass_context
def _gettext(context: Any, message: str) -> str:
    # jinja2's i18n extension fills %(name)s placeholders itself.
    return i18n.gettext(message, context["request"].state.locale)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(singular, plural, n, context["request"].state.locale)


@pass_context
def _label(context: Any, value: Any) -> str:
    return i18n.display(value, context["request"].state.locale)


@pass_context
def _code(context: Any, value: str) -> str:
    return code_name(value, context["request"].state.locale)


@pass_context
def _money(context: Any, fen: int) -> str:
    return i18n.money(fen, context["request"].state.locale)


@pass_context
def _day(context: Any, value: Any) -> str:
    return i18n.weekday_and_day(value, context["request"].state.locale)


@pass_context
def _listing(context: Any, items: list[str]) -> str:
    """Words joined as the reader's language lists them: "1 site and 2 meals", "1个助餐点和2个餐次"
    (an English comma between Chinese words reads as a typo)."""
    return format_list(list(items), locale=context["request"].state.locale)


@pass_context
def _csrf_token(context: Any) -> str:
    request = context["request"]
    binding = getattr(request.state, "csrf_binding", None)
    return csrf_token_for(binding) if binding else ""


# One environment per process, shared by every app made in it (a test makes hundreds): it holds
# nothing of an app's own, and keeps each template compiled after its first use.
@functools.cache
def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
    env.filters.update(label=_label, money=_money, day=_day, code=_code, listing=_listing)
    env.globals["LOCALES"] = (("zh_CN", "中文"), ("en", "English"))
    env.globals["variant_name"] = variant_name
    env.globals["category_name"] = category_name
    env.globals["fund_name"] = fund_name
    env.globals["Bilingual"] = i18n.Bilingual
    # Every form: <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    env.globals["csrf_token"] = _csrf_token
    return Jinja2Templates(env=env)


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        name,
        {
            "locale": request.state.locale,
            "staff": getattr(request.state, "staff", None),
            **context,
        },
        status_code=status_code,
    )
