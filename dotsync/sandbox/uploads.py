"""Reading the file out of an import request: multipart/form-data (one file part with a filename) or JSON
ApiFileMedia ``{"FileName", "Data": <base64>}`` with keys in any case."""

from __future__ import annotations

import base64
import binascii
import json
import re

from dotsync.sandbox.errors import ApiError, bad_request
from dotsync.sandbox.messages import SandboxRequest

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_WHITESPACE = dict.fromkeys(map(ord, " \t\r\n"))
_FILENAME = re.compile(r'filename\*?="?([^";\r\n]*)"?', re.IGNORECASE)


def _invalid_file() -> ApiError:
    return ApiError(400, "file must be valid")


def read_upload(request: SandboxRequest) -> tuple[str, bytes]:
    """Return ``(filename, file bytes)`` from an import request, or raise the API's 400."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return _multipart(request.body, content_type)
    return _file_media(request.body)


def _multipart(body: bytes, content_type: str) -> tuple[str, bytes]:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise _invalid_file()
    delimiter = b"--" + match.group(1).encode("latin-1")
    files: list[tuple[str, bytes]] = []
    position = body.find(delimiter)
    while position != -1:
        start = position + len(delimiter)
        if body[start : start + 2] == b"--":
            break
        end = body.find(b"\r\n" + delimiter, start)
        if end == -1:
            break
        part = body[start:end]
        head, sep, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if sep:
            disposition = next(
                (
                    line.decode("utf-8", "replace")
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-disposition")
                ),
                "",
            )
            name = _FILENAME.search(disposition)
            if name is not None and name.group(1).strip():
                files.append((name.group(1).strip(), content))
        position = end + 2
    if not files:
        raise _invalid_file()
    if len(files) > 1:
        raise bad_request("Only one file can be uploaded at a time.", "ERROR_MULTI_FILE_UPLOAD_NOT_ALLOWED")
    return files[0]


def _file_media(body: bytes) -> tuple[str, bytes]:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise bad_request("The request body is not valid JSON.", "ERROR_MALFORMED_REQUEST") from None
    if not isinstance(payload, dict):
        raise _invalid_file()
    fields = {str(k).lower(): v for k, v in payload.items()}
    filename, data = fields.get("filename"), fields.get("data")
    if not isinstance(filename, str) or not filename.strip() or not isinstance(data, str) or not data:
        raise _invalid_file()
    try:
        return filename.strip(), base64.b64decode(data.translate(_WHITESPACE), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("Data is not valid base64.", "ERROR_PARAMETER_INVALID") from None
