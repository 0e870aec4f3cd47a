"""Survey rows: looked up by name, created on first use."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.schema import Survey


def survey_id(session: Session, name: str, kind: str = "catalog", **fields: object) -> int:
    """The id of survey ``name``, creating it (with ``kind`` and ``fields``) if new."""
    found = session.execute(sa.select(Survey.id).where(Survey.name == name)).scalar_one_or_none()
    if found is not None:
        return int(found)
    survey = Survey(name=name, kind=kind, **fields)
    session.add(survey)
    session.flush()
    return int(survey.id)
