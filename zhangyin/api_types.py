"""Field types shared by every API edge: amounts as decimal strings, currencies, plain text."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: "100.00": a decimal string; parsed into minor units by zhangyin.money.parse_amount.
DecimalAmount = Annotated[
    str, Field(min_length=1, max_length=24, examples=["100.00"], pattern=r"^\d+(\.\d+)?$")
]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
#: Text a person typed: no control characters (which break logs, receipts and terminals).
PlainText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
Identifier = Annotated[int, Field(ge=1, le=2**62)]


class StrictBody(BaseModel):
    """A request body: unknown fields are refused and types are not coerced ("12" is not 12)."""

    model_config = ConfigDict(extra="forbid", strict=True)
