"""Queries of orgs and tills."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.db.models import Org, Till


class OrgRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, org_id: int) -> Org | None:
        return (await self.session.execute(select(Org).where(Org.org_id == org_id))).scalar_one_or_none()

    async def till_by_code(self, org_id: int, code: str) -> Till | None:
        stmt = select(Till).where(Till.org_id == org_id, Till.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def tills(self, org_id: int) -> list[Till]:
        stmt = select(Till).where(Till.org_id == org_id).order_by(Till.till_id)
        return list((await self.session.execute(stmt)).scalars())

    async def till_count(self, org_id: int) -> int:
        stmt = select(func.count()).select_from(Till).where(Till.org_id == org_id)
        return int((await self.session.execute(stmt)).scalar_one())
