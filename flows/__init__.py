"""Prefect flows: thin orchestration over koho, channels and translations. Nothing imports this."""
