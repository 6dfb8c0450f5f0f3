"""Starting the emulator: reset, persistence across restarts, the CLI entry point, static JS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe

from tests.emulator.support import Control, free_port, make_client, register_key, run_emulator


async def test_reset_forgets_everything() -> None:
    with run_emulator() as url:
        key = register_key(url)
        client = make_client(url, key)
        customer = await client.v1.customers.create_async(params={"email": "r@example.com"})
        control = Control(url)
        control.advance(3600)
        control.post("reset")
        with pytest.raises(stripe.InvalidRequestError):
            await client.v1.customers.retrieve_async(customer.id)
        assert control.get("clock")["offset"] == 0


async def test_state_file_survives_restart(tmp_path: Path) -> None:
    state_file = str(tmp_path / "emulator-state.json")
    with run_emulator(state_file=state_file) as url:
        key = register_key(url)
        client = make_client(url, key)
        account = await client.v1.accounts.create_async(params={"type": "express", "country": "LU"})
        Control(url).onboard(account.id)
        customer = await client.v1.customers.create_async(
            params={"email": "keep@example.com"}, options={"idempotency_key": "persist-1"}
        )
        await client.v1.payment_intents.create_async(
            params={
                "amount": 1000,
                "currency": "eur",
                "transfer_data": {"destination": account.id},
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        Control(url).advance(3600)
    saved = json.loads(Path(state_file).read_text())
    assert saved["version"] == 1 and saved["clock_offset"] >= 3600
    with run_emulator(state_file=state_file) as url:
        client = make_client(url, key)
        control = Control(url)
        assert control.get("clock")["offset"] >= 3600
        again = await client.v1.accounts.retrieve_async(account.id)
        assert again.charges_enabled is True
        listed = await client.v1.accounts.list_async()
        assert [a.id for a in listed.data] == [account.id]
        replay = await client.v1.customers.create_async(
            params={"email": "keep@example.com"}, options={"idempotency_key": "persist-1"}
        )
        assert replay.id == customer.id
        opts: stripe.RequestOptions = {"stripe_account": account.id}
        before = await client.v1.balance.retrieve_async(options=opts)
        assert before.pending[0].amount == 1000
        control.advance(2 * 86400)
        after = await client.v1.balance.retrieve_async(options=opts)
        assert after.pending[0].amount == 0


def test_module_entry_point_serves() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--api-key",
            "sk_test_entrypoint123",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/balance",
                    headers={"Authorization": "Bearer sk_test_entrypoint123"},
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["object"] == "balance"
        stranger = httpx.get(
            f"http://127.0.0.1:{port}/v1/balance",
            headers={"Authorization": "Bearer sk_test_entrypoint124"},
        )
        assert stranger.status_code == 401
        js = httpx.get(f"http://127.0.0.1:{port}/js/v3/")
        assert js.headers["content-type"].startswith("application/javascript")
        assert "confirmPayment" in js.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_main_parses_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from stripe_emulator.__main__ import main

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert main(["--host", "127.0.0.1", "--port", "12999"]) == 0
    assert seen["port"] == 12999 and seen["host"] == "127.0.0.1"


def test_control_api_rejects_bad_input(emulator_url: str) -> None:
    bad_json = httpx.post(f"{emulator_url}/_emulator/clock/advance", content=b"{nope")
    assert (
        bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"
    )
    bad_kind = httpx.post(f"{emulator_url}/_emulator/faults", json={"route": "x", "kind": "meteor"})
    assert bad_kind.status_code == 400
    unknown = httpx.get(f"{emulator_url}/_emulator/nothing-here")
    assert unknown.status_code == 404 and "error" in unknown.json()
