"""Password protection of a finished PDF: AES-256 (PDF 2.0 security handler, revision 6) via
pypdf. reportlab's own encryption is RC4 and is never used."""

from __future__ import annotations

import io
import secrets

from pypdf import PdfReader, PdfWriter

MIN_PASSWORD = 8


def encrypt_pdf(data: bytes, password: str) -> bytes:
    """The same document, readable only with ``password`` (AES-256). The owner password is a
    random one nobody keeps: the user password is the only way in."""
    if not password:
        raise ValueError("an empty password protects nothing")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(
        user_password=password,
        owner_password=secrets.token_urlsafe(32),
        algorithm="AES-256",
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
