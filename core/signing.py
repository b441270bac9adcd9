"""Short keyed signatures for links that must work without a login (a rider's route page, the
QR code on a box) yet cannot be guessed, changed to another route or order, or made to last."""

import base64
import hashlib
import hmac

from core.settings import get_settings

# 15 bytes of HMAC-SHA256 (120 bits) as 20 URL-safe characters: short enough for a QR code a
# phone reads from a label, far beyond guessing.
_SIGNATURE_BYTES = 15


def signature(message: str) -> str:
    secret = get_settings().secret_key.encode()
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


def matches(message: str, candidate: str) -> bool:
    # As bytes: a candidate with non-ASCII characters in it is simply wrong, not an error.
    return hmac.compare_digest(signature(message).encode(), candidate.encode())
