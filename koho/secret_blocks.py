"""Secrets kept in Prefect Secret blocks, for settings that name a block instead of a value.

Channels import no Prefect (the driver and the channels run without it: dry runs, tests, the
CLI's pre-flight); they read a block through here, and Prefect is imported only when a block
is named. A failure says which setting named the block, never a value.
"""

from __future__ import annotations

from pydantic import SecretStr

from koho.errors import ConfigError


def load_secret(block: str, setting: str) -> str:
    """The value of the Prefect Secret block ``block``, which the environment variable
    ``setting`` names; a ConfigError naming ``setting`` when it cannot be read."""
    from prefect.blocks.system import Secret  # only when a block is named: Prefect is heavy

    try:
        found = Secret.load(block)  # a coroutine only inside a running event loop: never here
        if not isinstance(found, Secret):
            raise TypeError(f"Secret.load gave {type(found).__name__}")
        return str(found.get())
    except Exception as exc:  # no server, no such block, a bad name: say which setting, not the value
        raise ConfigError(f"{setting}={block!r}: cannot load the Prefect Secret block ({type(exc).__name__})") from None


def secret_or_block(value: SecretStr | None, block: str, setting: str) -> str:
    """A secret set directly (``value``), else read from the block ``block`` that the variable
    ``setting`` names."""
    if value is not None:
        return value.get_secret_value()
    return load_secret(block, setting)
