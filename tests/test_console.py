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
    """One line per answer: the next question comes at once."""
    return [str(score) for score in scores]


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

    second = console(db, "lan", ["1", *answers(SEED_002[8:]), "1"])  # "1": Nộp kết quả
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


def test_a_text_of_several_lines_ends_on_an_empty_line(tmp_path: Path) -> None:
    """Part III's text may have several lines: one Enter does not end it, an empty line does;
    a number alone still picks a choice at once."""
    db = tmp_path / "unit.sqlite3"
    register = ["1", "Phòng Nội vụ huyện Tân Biên", "1", "1", "2"]
    part_three = ["2", "2", "2", "2"]  # "Xem, sửa phần III", keep the first three sections
    text = ["Tiếp tục duy trì học tập.", "Mở thêm lớp tin học cho công chức.", ""]
    run = console(db, "lan", [*register, "/danhgia 2023", *answers(SEED_002), *part_three, *text])
    assert run.returncode == 0, run.stderr
    assert "gõ xong thì nhấn Enter thêm một lần ở dòng trống" in run.stdout
    assert "Đã lưu phần “Phương hướng năm sau”" in run.stdout
    assert "không được lưu làm nội dung báo cáo" not in run.stdout
    import sqlite3

    with sqlite3.connect(db) as conn:
        [(stored,)] = conn.execute("SELECT text FROM narratives WHERE section = 'phuong_huong'")
    assert stored == "Tiếp tục duy trì học tập.\nMở thêm lớp tin học cho công chức."


def test_an_empty_line_gets_a_short_hint(tmp_path: Path) -> None:
    run = console(tmp_path / "unit.sqlite3", "lan", ["", "   "])
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("Tin nhắn trống") == 2


def test_a_supervisor_in_the_console_gets_the_page_on_this_machine(tmp_path: Path) -> None:
    """The console's user creates a supervising unit; whoever joins it reads /tonghop's local
    address and the page opens there while the console runs (loopback only, no token)."""
    import queue
    import re
    import threading
    import urllib.request

    db = tmp_path / "page.sqlite3"
    made = console(db, "an", ["/taocaptren Sở Giáo dục và Đào tạo tỉnh Kon Tum"])
    code = re.search(r"Mã mời cán bộ cấp trên .*: ([A-Z2-9]{8})", made.stdout)
    assert code, made.stdout
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "DVHT_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--db", str(db), "--user", "binh"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        cwd=ROOT, env=env,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []]).start()
    try:
        process.stdin.write(f"/start {code.group(1)}\n/tonghop 2025\n")
        process.stdin.flush()
        while not (
            found := re.search(r"(http://127\.0\.0\.1:\d+/tonghop/\S+)", lines.get(timeout=60))
        ):
            pass
        with urllib.request.urlopen(found.group(1), timeout=30) as response:
            page = response.read().decode()
        assert response.status == 200
        assert "Tổng hợp “Đơn vị học tập” năm 2025" in page
        assert "Sở Giáo dục và Đào tạo tỉnh Kon Tum" in page and "0 đơn vị trực thuộc" in page
    finally:
        process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_a_registration_left_midway_goes_on_where_it_stopped(tmp_path: Path) -> None:
    """End of input after the unit's name: the next run asks the unit's kind (the step left),
    not the welcome again, so the console's "làm tiếp từ chỗ đơn vị đang dừng" holds for a
    registration too."""
    db = tmp_path / "unit.sqlite3"
    first = console(db, "lan", ["1", "Trường Tiểu học Phổ Ninh"])
    assert first.returncode == 0, first.stderr
    again = console(db, "lan", [])
    assert again.returncode == 0, again.stderr
    assert "đang đăng ký đơn vị dở dang" in again.stdout
    assert "“Trường Tiểu học Phổ Ninh” thuộc loại hình nào?" in again.stdout
    assert "Đơn vị của bạn đã có trên hệ thống chưa?" not in again.stdout
