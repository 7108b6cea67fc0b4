"""Reading the KEV catalogue and EPSS score files.

No real KEV or EPSS file exists in ../shared, so tests/findings/data holds small hand-made samples in
the exact published formats (CISA's known_exploited_vulnerabilities.json, FIRST's epss_scores CSV with
its "#model_version" comment line, plain and gzipped): the only hand-made samples in the suite.
"""

import datetime as dt
import gzip
import io
import time
from pathlib import Path

import pytest

from findings.enrichment_files import parse_epss, parse_kev
from findings.errors import EnrichmentFileInvalid

DATA = Path(__file__).parent / "data"


def test_kev_catalogue_entries_are_read_with_dates_and_ransomware_use():
    with (DATA / "kev_sample.json").open("rb") as stream:
        records = parse_kev(stream)

    log4shell = next(r for r in records if r.cve_id == "CVE-2021-44228")
    assert len(records) == 3
    assert log4shell.vendor == "Apache"
    assert log4shell.product == "Log4j2"
    assert log4shell.date_added == dt.date(2021, 12, 10)
    assert log4shell.due_date == dt.date(2021, 12, 24)
    assert log4shell.known_ransomware is True
    assert not next(r for r in records if r.cve_id == "CVE-2023-4863").known_ransomware


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"vulnerabilities": [', "not valid JSON"),
        (b'{"title": "something else"}', "no “vulnerabilities” list"),
        (b'{"vulnerabilities": [{"cveID": "GHSA-xxxx", "dateAdded": "2021-01-01"}]}', "is not a CVE id"),
        (b'{"vulnerabilities": [{"cveID": "CVE-2021-1", "dateAdded": "2021-01-01"}]}', "is not a CVE id"),
        (b'{"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "yesterday"}]}', "is not a date"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ],
)
def test_a_file_that_is_not_the_kev_catalogue_is_refused_with_the_reason(content, message):
    with pytest.raises(EnrichmentFileInvalid, match=message):
        parse_kev(io.BytesIO(content))


def test_epss_scores_are_read_with_the_score_date_of_the_comment_line():
    with (DATA / "epss_sample.csv").open("rb") as stream:
        epss = parse_epss(stream)
        records = list(epss.records)

    assert epss.scored_on == dt.date(2024, 1, 10)
    assert epss.model_version == "v2023.03.01"
    assert len(records) == 5
    log4shell = next(r for r in records if r.cve_id == "CVE-2021-44228")
    assert log4shell.score == pytest.approx(0.97565)
    assert log4shell.percentile == pytest.approx(0.99995)


def test_gzipped_epss_file_reads_like_the_plain_one():
    with (DATA / "epss_sample.csv.gz").open("rb") as stream:
        gzipped = list(parse_epss(stream).records)
    with (DATA / "epss_sample.csv").open("rb") as stream:
        plain = list(parse_epss(stream).records)

    assert gzipped == plain


def test_epss_file_without_comment_line_is_accepted():
    epss = parse_epss(io.BytesIO(b"cve,epss,percentile\nCVE-2021-44228,0.9,0.99\n"))

    assert epss.scored_on is None
    assert [r.cve_id for r in epss.records] == ["CVE-2021-44228"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"#model_version:v1\ncve_id,score\n", "expected the columns cve,epss,percentile"),
        (b"cve,epss,percentile\nCVE-2021-44228,high,0.9\n", "line 3: epss and percentile must be numbers"),
        (b"cve,epss,percentile\nCVE-2021-44228,1.5,0.9\n", "must lie between 0 and 1"),
        (b"cve,epss,percentile\nnot-a-cve,0.1,0.9\n", "line 3: 'not-a-cve' is not a CVE id"),
        (b"cve,epss,percentile\nCVE-2021-44228,0.1\n", "has 2 columns"),
        (b"cve,epss,percentile\nCVE-2021-44228,0.1,0.2\n\xff\xfe\n", "unreadable"),
        (gzip.compress(b"cve,epss,percentile\n", mtime=0)[:-6], "unreadable"),
    ],
)
def test_a_broken_epss_file_is_refused_with_the_line(content, message):
    with pytest.raises(EnrichmentFileInvalid, match=message):
        list(parse_epss(io.BytesIO(content)).records)


def test_a_small_gzip_of_one_enormous_epss_line_is_refused_quickly():
    # 200 MiB of one line compresses to about 200 KiB: the loader must stop at the line cap.
    bomb = gzip.compress(b"#" + b"a" * (200 * 2**20), mtime=0)
    started = time.monotonic()

    with pytest.raises(EnrichmentFileInvalid, match="line 1 is longer than"):
        list(parse_epss(io.BytesIO(bomb)).records)
    assert time.monotonic() - started < 5


def test_an_epss_row_past_the_line_cap_is_refused_with_its_line():
    content = b"cve,epss,percentile\nCVE-2021-44228,0.1,0.2\nCVE-2021-44229," + b"9" * 5000 + b",0.2\n"

    with pytest.raises(EnrichmentFileInvalid, match="line 3 is longer than"):
        list(parse_epss(io.BytesIO(content)).records)


def test_an_epss_file_that_inflates_past_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr("findings.enrichment_files.EPSS_MAX_BYTES", 1024)
    rows = b"".join(b"CVE-2021-%05d,0.1,0.2\n" % number for number in range(200))
    bomb = gzip.compress(b"cve,epss,percentile\n" + rows, mtime=0)

    with pytest.raises(EnrichmentFileInvalid, match="inflates to more than"):
        list(parse_epss(io.BytesIO(bomb)).records)
