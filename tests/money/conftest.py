"""Money-after-the-sale tests run the whole stack over real HTTP, like the payment tests."""

from tests.payments.conftest import emulator_url, http, stack  # noqa: F401
