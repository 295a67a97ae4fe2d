"""PIN verifiers and random tokens. Pure functions on the standard library (hashlib.scrypt).

Used on both sides: the server keeps a verifier per staff member; a device keeps its own verifier
for offline sign-in of people who signed in there before. Neither ever stores the PIN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt at N=2**14, r=8: ~50 ms and 16 MiB per check on this class of machine: slow for a guesser,
# fast enough for a person. The parameters live in each verifier so they can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOK_ALIKE = str.maketrans("OIL", "011")  # what a person types for 0 and 1


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def hash_pin(pin: str, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, verifier: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = verifier.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 2**20, dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def valid_pin_format(pin: object) -> bool:
    return isinstance(pin, str) and pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8


def new_token() -> str:
    """A bearer secret (device token, session token, API key): 256 random bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are random, so a fast hash is enough; the database never holds the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_enrolment_code() -> str:
    """Eight Crockford base-32 characters (40 bits), shown as XXXX-XXXX, easy to type on a tablet."""
    raw = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_enrolment_code(code: str) -> str:
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(_LOOK_ALIKE)
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else cleaned
