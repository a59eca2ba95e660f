"""A recording comm: what a widget publishes, and messages delivered as the browser would.

A module of its own (not ``conftest``) so test files import it by a name no other test
directory shares.
"""

from __future__ import annotations

from comm.base_comm import BaseComm


class RecordingComm(BaseComm):
    """A comm that keeps what the widget publishes (the seam between a widget and a kernel)."""

    def __init__(self, **kwargs):
        self.published: list[tuple[str, dict, list]] = []
        super().__init__(**kwargs)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        self.published.append((msg_type, data or {}, list(buffers or [])))

    def custom(self) -> list[dict]:
        """The custom messages sent so far (``widget.send`` content)."""
        return [
            d["content"]
            for kind, d, _ in self.published
            if kind == "comm_msg" and d.get("method") == "custom"
        ]


def attach_comm(widget) -> RecordingComm:
    """Give a widget a recording comm; returns it."""
    rec = RecordingComm(target_name="jupyter.widget", data={}, comm_id=widget.model_id)
    widget.comm = rec
    return rec


def frontend_message(widget, content: dict) -> None:
    """Deliver a custom message as the browser would (through ipywidgets' comm handler)."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )
