#!/bin/sh
# Regenerate the TruffleHog v2 reports in this folder (see ../README.md). Needs truffleHog 2.2.1 in
# /tmp/th-venv (python3 -m venv /tmp/th-venv && /tmp/th-venv/bin/pip install trufflehog==2.2.1) and
# git. Run from the repository root: sh tests/findings/data/ai/notebook-secrets/run.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../../.." && pwd)
WORK=$(mktemp -d)
export GIT_COMMITTER_DATE=2026-11-29T12:00:00Z GIT_AUTHOR_DATE=2026-11-29T12:00:00Z
commit() {
    git -C "$1" init -q -b main
    git -C "$1" add -A
    git -C "$1" -c user.name=sample -c user.email=sample@example.invalid \
        -c commit.gpgsign=false commit -q -m "$2"
}
# 1. The raw notebook and its checkpoint copy, committed as they are.
python3 "$HERE/make_notebook.py" "$WORK/raw"
commit "$WORK/raw" "Add churn notebook"
/tmp/th-venv/bin/trufflehog --json --regex --entropy=False "file://$WORK/raw" \
    > "$HERE/trufflehog-2.2.1-raw-notebook.jsonl" || true
# 2. The same notebook laid out cell by cell first (scripts/notebook_cells.py), then scanned.
python3 "$ROOT/scripts/notebook_cells.py" "$WORK/raw" "$WORK/cells"
commit "$WORK/cells" "Lay out churn notebook cells"
/tmp/th-venv/bin/trufflehog --json --regex --entropy=False "file://$WORK/cells" \
    > "$HERE/trufflehog-2.2.1-cells.jsonl" || true
# 3. The same layout with trufflehog's default entropy checks on too (finds the secret access key).
/tmp/th-venv/bin/trufflehog --json --regex "file://$WORK/cells" \
    > "$HERE/trufflehog-2.2.1-cells-entropy.jsonl" || true
rm -rf "$WORK"
