"""Product images: uploaded on the product page, checked, resized and stripped with Pillow,
stored under the data dir, served per store with long cache headers, shown on the storefront
and in the cart. Bad files get a message in the form and change nothing."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from storeplex.catalog.images import MAX_UPLOAD_BYTES
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import Product
from tests.support.factories import login_staff, make_product, make_store_kit


def photo(width: int, height: int, fmt: str = "PNG", **save: object) -> bytes:
    img = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    img.save(out, format=fmt, **save)
    return out.getvalue()


def with_gps() -> bytes:
    """A JPEG whose EXIF says where it was taken, with a comment and an orientation."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to show upright
    exif.get_ifd(0x8825)[2] = (49.0, 36.0, 0.0)  # GPSLatitude
    return photo(3000, 2000, "JPEG", exif=exif.tobytes(), comment=b"home address")


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(path)).text)
    assert found is not None
    return found.group(1)


async def upload(
    client: httpx.AsyncClient, product_id: int, data: bytes, name: str = "p.jpg"
) -> httpx.Response:
    path = f"/admin/products/{product_id}"
    return await client.post(
        f"{path}/image",
        data={"csrf_token": await csrf_of(client, path)},
        files={"image": (name, data, "application/octet-stream")},
    )


async def image_key(db: Database, product_id: int) -> str | None:
    async with db.session_scope() as s:
        return (await s.get_one(Product, product_id)).image_key


async def test_an_upload_is_resized_stripped_stored_and_served(
    database: Database, client: httpx.AsyncClient, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, name="Mug", stock=5)
    await login_staff(client, kit.owner_email)
    r = await upload(client, mug.id, with_gps())
    assert r.status_code == 303, r.text
    key = await image_key(database, mug.id)
    assert key is not None and re.fullmatch(rf"{mug.id}-[0-9a-f]{{16}}\.jpg", key)
    stored = settings.data_dir / "product-images" / str(kit.store.id) / key
    assert stored.is_file()

    url = f"/s/{kit.store.slug}/images/{key}"
    served = await client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert "max-age=31536000" in served.headers["cache-control"]
    assert served.content == stored.read_bytes()
    with Image.open(io.BytesIO(served.content)) as img:
        assert img.format == "JPEG"
        assert img.size == (800, 1200), "turned upright, then fit in 1200 px"
        assert len(img.getexif()) == 0 and "comment" not in img.info, "no metadata kept"
    assert b"SecretCam" not in served.content and b"home address" not in served.content

    home = (await client.get(f"/s/{kit.store.slug}/")).text
    assert f'src="{url}"' in home
    product_page = (await client.get(f"/s/{kit.store.slug}/products/{mug.id}")).text
    assert f'src="{url}"' in product_page
    added = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/cart/items", json={"product_id": mug.id}
    )
    assert added.json()["items"][0]["image_key"] == key
    cart = (await client.get(f"/s/{kit.store.slug}/cart")).text
    assert f'src="{url}"' in cart

    # A new picture replaces the file (and the URL) of the old one.
    assert (await upload(client, mug.id, photo(640, 480, "WEBP"))).status_code == 303
    new_key = await image_key(database, mug.id)
    assert new_key is not None and new_key != key and not stored.exists()
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"/s/{kit.store.slug}/images/{new_key}")).status_code == 200
    url, key = f"/s/{kit.store.slug}/images/{new_key}", new_key

    # Tenant-safe paths: another store's slug, a made-up or traversing name, all 404.
    other = await make_store_kit(database)
    assert (await client.get(f"/s/{other.store.slug}/images/{key}")).status_code == 404
    for bad in (f"{mug.id}-0000000000000000.jpg", "..%2F..%2Fsecret_key", "x.jpg"):
        assert (await client.get(f"/s/{kit.store.slug}/images/{bad}")).status_code == 404


async def test_bad_files_get_a_message_in_the_form_and_change_nothing(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, name="Mug", stock=5)
    await login_staff(client, kit.owner_email)
    assert (await upload(client, mug.id, photo(10, 10))).status_code == 303
    before = await image_key(database, mug.id)

    big = photo(10, 10) + b"\0" * MAX_UPLOAD_BYTES
    cases = [
        (b"", "Choose an image file"),
        (b"%PDF-1.7 not a picture", "not an image we can use"),
        (photo(10, 10)[:40], "not an image we can use"),
        (big, "over 5 MB"),
    ]
    for data, message in cases:
        r = await upload(client, mug.id, data)
        assert r.status_code == 400, message
        assert 'id="image-error"' in r.text and message in r.text
    assert await image_key(database, mug.id) == before

    other = await make_store_kit(database)
    theirs = await make_product(database, other.store, name="Theirs")
    r = await client.post(
        f"/admin/products/{theirs.id}/image",
        data={"csrf_token": await csrf_of(client, f"/admin/products/{mug.id}")},
        files={"image": ("p.png", photo(10, 10), "image/png")},
    )
    assert r.status_code == 404
    assert await image_key(database, theirs.id) is None
