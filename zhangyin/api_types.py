"""Field types shared by every API edge: amounts as decimal strings, currencies, plain text."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

#: "100.00": a decimal string; parsed into minor units by zhangyin.money.parse_amount.
DecimalAmount = Annotated[
    str, Field(min_length=1, max_length=24, examples=["100.00"], pattern=r"^[0-9]+(\.[0-9]+)?$")
]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
#: Text a person typed: no control characters (which break logs, receipts and terminals).
PlainText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
#: Integers and booleans in bodies are strict: "12" is not 12 and "true" is not true.
Identifier = Annotated[StrictInt, Field(ge=1, le=2**62)]
Flag = StrictBool


class StrictBody(BaseModel):
    """A request body: unknown fields are refused.

    Use `Identifier`/`StrictInt`/`Flag` for numbers and booleans so that strings are not
    coerced; enums and dates still parse from their JSON strings.
    """

    model_config = ConfigDict(extra="forbid")
