"""The console channel driven as a person would: a subprocess with piped standard input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_002 = [10, 10, 10, 10, 5, 10, 5, 3, 3, 3, 3, 3, 3, 3, 4, 5, 3]  # 1a … 3c, in order


def console(db: Path, user: str, lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "DVHT_DATA_DIR": str(db.parent)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--db", str(db), "--user", user],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True, text=True, encoding="utf-8", cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip


def answers(scores: list[int]) -> list[str]:
    return [line for score in scores for line in (str(score), "xong")]


def test_quit_midway_then_resume_and_finish(tmp_path: Path) -> None:
    db = tmp_path / "unit.sqlite3"
    register = ["1", "Phòng Giáo dục và Đào tạo huyện Kon Rẫy", "1", "1", "2"]
    first = console(db, "lan", [*register, "/danhgia 2023", *answers(SEED_002[:8])])
    assert first.returncode == 0, first.stderr
    assert "Đã đăng ký đơn vị “Phòng Giáo dục và Đào tạo huyện Kon Rẫy”" in first.stdout
    assert (
        "1) Đăng ký đơn vị mới\n2) Tham gia đơn vị (có mã mời)\nTrả lời 1 hoặc 2." in first.stdout
    )
    assert "Nhập điểm từ 0 đến 10." in first.stdout
    assert "1) Có" not in first.stdout  # scores are typed, never numbered
    assert "Đã lưu 3a1: 3/3 điểm" in first.stdout
    assert "9/17" in first.stdout  # the question it stopped at

    narratives = ["1", "1", "1", "1"]  # accept the four drafted sections of part III
    second = console(db, "lan", ["1", *answers(SEED_002[8:]), *narratives, "1"])
    assert second.returncode == 0, second.stderr
    assert "Đơn vị đang đánh giá dở năm 2023: đã trả lời 8/17 câu." in second.stdout
    assert "Tiếp tục tại câu 9/17" in second.stdout
    assert "Tổng điểm: 93/100" in second.stdout
    assert "Xếp loại: Tốt" in second.stdout
    assert "đã nộp kết quả đánh giá năm 2023" in second.stdout
    # the console prints the path; the file is named by unit and year (issue 20)
    assert re.search(
        r"📄 bao-cao-phong-giao-duc-va-dao-tao-huyen-kon-ray-2023-[0-9a-f]{6}\.docx:", second.stdout
    )
    assert second.stderr == ""


def test_end_of_input_right_away_leaves_a_usable_database(tmp_path: Path) -> None:
    db = tmp_path / "unit.sqlite3"
    run = console(db, "lan", [])
    assert run.returncode == 0, run.stderr
    assert "Đăng ký đơn vị mới" in run.stdout
    assert db.exists()
