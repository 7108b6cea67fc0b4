"""Red-team probe statistics of an import: written with the import, in its transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from assets.models import Asset
from findings.importers.base import ProbeStat
from findings.models import ImportJob, RedTeamProbe

# Formats whose imports are red-team runs: the "last red-teamed" date of a model comes from them.
RED_TEAM_FORMATS = ("garak", "promptfoo")
# Formats whose imports scan model files: the "last model-file scan" of a model.
MODEL_FILE_FORMATS = ("modelscan", "picklescan", "fickling")


def probes_record(
    *, job: ImportJob, asset: Asset, tool: str, probes: Iterable[ProbeStat], ran_at: dt.datetime
) -> list[RedTeamProbe]:
    """Store every probe of one red-team import (the job's own table); a probe named twice is merged."""
    merged: dict[str, ProbeStat] = {}
    for stat in probes:
        known = merged.get(stat.probe)
        if known is None:
            merged[stat.probe] = ProbeStat(
                probe=stat.probe,
                attempts=stat.attempts,
                passed=stat.passed,
                detectors=list(stat.detectors),
                owasp=list(stat.owasp),
                atlas=list(stat.atlas),
                target=stat.target,
            )
        else:
            known.attempts += stat.attempts
            known.passed += stat.passed
            known.detectors += [value for value in stat.detectors if value not in known.detectors]
    rows = [
        RedTeamProbe(
            job=job,
            asset=asset,
            tool=tool[:32],
            probe=stat.probe[:300],
            target=stat.target[:1000],
            attempts=stat.attempts,
            passed=min(stat.passed, stat.attempts),
            detectors=[value[:300] for value in stat.detectors[:50]],
            owasp_ids=stat.owasp,
            atlas_ids=stat.atlas,
            ran_at=ran_at,
        )
        for stat in merged.values()
    ]
    return RedTeamProbe.objects.bulk_create(rows, batch_size=1000)
