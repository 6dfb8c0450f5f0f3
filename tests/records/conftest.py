"""Store records (search, exports) are read over real HTTP from the running app."""

from tests.payments.conftest import emulator_url, http, stack  # noqa: F401
