"""The backtest stage's file conventions: a ``latest`` link to the newest report folder."""

from hrl_sarp.backtest.stage import point_latest


def test_latest_points_at_the_newest_report_folder(tmp_path):
    first, second = tmp_path / "aaa_fb-1", tmp_path / "bbb_fb-2"
    for folder in (first, second):
        folder.mkdir()
        (folder / "report.html").write_text(folder.name)
    link = point_latest(first)
    assert (link / "report.html").read_text() == "aaa_fb-1"
    point_latest(second)  # replaced, not nested
    assert (tmp_path / "latest" / "report.html").read_text() == "bbb_fb-2"
    assert not (second / "latest").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "aaa_fb-1",
        "bbb_fb-2",
        "latest",
    ]
