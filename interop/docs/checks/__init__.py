"""The checks of the blocks that are not client programs, one module per kind of block.

Each check returns a :class:`CheckResult` whose evidence starts with a one-line summary:

- auth_file: QuestDB's auth-file lines, loaded with the server's rules;
- jwk: a P-256 JWK, d against x/y and x/y against the page's auth line;
- server_conf: server.conf keys and values;
- install: package-manager commands (not run);
- key_recipe: the jose/jq recipe, run in a temporary folder, its key proven against the stub.
"""

from .auth_file import auth_keys_on_page, check_auth_lines, looks_like_auth_file
from .install import check_install_commands, classify_bash
from .jwk import check_jwk
from .key_recipe import authenticate_once, run_key_recipe
from .result import CheckResult
from .server_conf import check_server_conf

__all__ = [
    "CheckResult",
    "auth_keys_on_page",
    "authenticate_once",
    "check_auth_lines",
    "check_install_commands",
    "check_jwk",
    "check_server_conf",
    "classify_bash",
    "looks_like_auth_file",
    "run_key_recipe",
]
