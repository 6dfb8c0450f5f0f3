"""Product images: checked, resized and re-encoded with Pillow, stored under the data dir.

Rule: nothing a seller uploads is served as uploaded. The bytes must be at most
MAX_UPLOAD_BYTES and decode as a JPEG, PNG, WebP or GIF of at most MAX_PIXELS pixels
(Pillow's decompression-bomb guard); the picture is turned upright (EXIF orientation),
scaled to fit MAX_SIDE px, flattened on white and re-encoded as a JPEG that carries no
metadata (no EXIF, GPS or comments). The file name is the product id plus a hash of the
result, so a new image gets a new URL and the old one may be cached for ever; the path
is built only from integers and that hex name, never from anything typed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from storeplex.errors import BadRequest

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1200
MAX_PIXELS = 40_000_000
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
KEY = re.compile(r"^(\d{1,19})-[0-9a-f]{16}\.jpg$")
QUALITY = 85


def image_dir(data_dir: Path, store_id: int) -> Path:
    return data_dir / "product-images" / str(int(store_id))


def image_path(data_dir: Path, store_id: int, key: str) -> Path | None:
    """The stored file of `key` for this store, or None when `key` is not one of ours."""
    if not KEY.fullmatch(key):
        return None
    return image_dir(data_dir, store_id) / key


def process(data: bytes) -> bytes:
    """The upload as the JPEG we serve, or a BadRequest saying what is wrong with it."""
    if not data:
        raise BadRequest("Choose an image file to upload", field="image")
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadRequest(
            f"The image is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; upload a smaller one",
            field="image",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise BadRequest("The image has too many pixels", field="image")
                img.seek(0)
                upright = ImageOps.exif_transpose(img)
                upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                rgba = upright.convert("RGBA")
    except BadRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning,
            Image.DecompressionBombError):  # fmt: skip
        raise BadRequest(
            "This file is not an image we can use: upload a JPEG, PNG, WebP or GIF",
            field="image",
        ) from None
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=QUALITY, optimize=True)  # no exif= : none kept
    return out.getvalue()


def store_image(data_dir: Path, store_id: int, product_id: int, jpeg: bytes) -> str:
    """Write the processed image (atomically) and return its key."""
    key = f"{int(product_id)}-{hashlib.sha256(jpeg).hexdigest()[:16]}.jpg"
    folder = image_dir(data_dir, store_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / key
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    temporary.write_bytes(jpeg)
    os.replace(temporary, target)
    return key
