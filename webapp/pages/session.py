"""placeholder"""
from typing import Any
from dash import html
def layout(search: str = "", **_: Any) -> Any:
    return html.Div("todo")
