"""The one list shape: every list endpoint of every service pages the same way.

A list is asked for with `page` (from 1) and `page_size` (1 to `MAX_PAGE_SIZE`, default
`DEFAULT_PAGE_SIZE`) and answered with a `Page`: the `items` of that page, the `page` and
`page_size` asked for, and the `total` of items matching the filter. A page past the end is an
empty `items` with the true `total`, not an error.

    @router.get("/v1/requests", response_model=Page[RequestSummary])
    async def my_requests(user: CurrentUser, paging: Paging) -> Page[RequestSummary]:
        found, total = await service.requests_of(user.subject, skip=paging.skip, limit=paging.limit)
        return paging.page_of([RequestSummary.of(r) for r in found], total)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# A page number past this would only ask the database to skip millions of documents.
MAX_PAGE = 10_000

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    page: int = Field(description="The page number asked for, from 1.")
    page_size: int = Field(description="The most items a page holds.")
    total: int = Field(description="How many items match, over all pages.")


@dataclass(frozen=True)
class PageRequest:
    """The page a client asked for, and what a store needs to fetch it."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        return self.page_size

    def page_of(self, items: Sequence[T], total: int) -> Page[T]:
        return Page[T](items=list(items), page=self.page, page_size=self.page_size, total=total)


async def page_request(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, at most {MAX_PAGE_SIZE}.")
    ] = DEFAULT_PAGE_SIZE,
) -> PageRequest:
    return PageRequest(page, page_size)


# The dependency a list route takes: `paging: Paging`.
Paging = Annotated[PageRequest, Depends(page_request)]
