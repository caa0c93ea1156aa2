# Each staff role signed in with its second factor, as the security tests use them.
from tests.security.conftest import staff, staff_users  # noqa: F401
