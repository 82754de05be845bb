"""interlock.nodes."""

__all__: list[str] = []
