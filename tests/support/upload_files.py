"""Record files for the upload tests: a consultation file with two bad rows (TWO_BAD, uploaded as NAME), and hostile
but small files for the upload-safety tests and benchmarks/bench_uploads.py, written on demand."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path


def consultation_file(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["相談ID", "相談日", "相談元", "都道府県", "市区町村", "相談テーマ", "形式"])
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


TWO_BAD = consultation_file([
    ["T-001", "2025-01-20", "架空市（架空）", "茨城県", "筑西市", "RPAの導入", "相談会"],
    ["T-002", "来月のどこか", "架空町（架空）", "茨城県", "境町", "ホームページ", "訪問"],          # row 3: date
    ["T-003", "2025-02-03", "架空村（架空）", "茨城県", "東海村", "セキュリティ", "オンライン"],
    ["T-004", "2025-02-10", "架空区（架空）", "架空県", "", "AI活用", "電話"],                    # row 5: prefecture
])
NAME = "相談記録_追加.csv"

SESSION_HEADER = ["案件ID", "回", "実施日", "所要時間", "担当ITC"]


def sparse_far_cell_xlsx(path: Path) -> Path:
    """A valid 伴走記録 sheet plus one value at XFD1048576 (the workbook is a few KB)."""
    import openpyxl  # noqa: PLC0415  (openpyxl only when a workbook is written (benchmarks import this module too))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws.append(SESSION_HEADER)
    ws.append(["E-1", 1, "2024-05-01", "2時間", "架空 太郎"])
    ws["XFD1048576"] = "x"
    wb.save(path)
    return path


def faked_dimension_xlsx(path: Path) -> Path:
    """A small sheet whose <dimension> claims A1:XFD1048576 and whose far cell is formatted but empty."""
    import openpyxl  # noqa: PLC0415  (openpyxl only when a workbook is written (benchmarks import this module too))
    from openpyxl.styles import Font  # noqa: PLC0415  (openpyxl only when a workbook is written (benchmarks import this module too))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws.append(SESSION_HEADER)
    ws.append(["E-1", 1, "2024-05-01", "2時間", "架空 太郎"])
    ws["XFD1048576"].font = Font(bold=True)       # a styled cell with no value
    wb.save(path)
    return path


def many_rows_xlsx(path: Path, rows: int) -> Path:
    """`rows` 伴走記録 rows, written with openpyxl's write-only mode (≈ 10 s per million rows)."""
    import openpyxl  # noqa: PLC0415  (openpyxl only when a workbook is written (benchmarks import this module too))
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("伴走記録")
    ws.append(SESSION_HEADER)
    for i in range(rows):
        ws.append([f"E-{i // 10}", i % 10 + 1, "2024-05-01", 120, "架空"])
    wb.save(path)
    return path


def long_field_csv(path: Path, chars: int = 200 * 1024, fill: str = "長") -> Path:
    """A field of `chars` characters in row 3 (600 KB of 長 by default: DuckDB's reader; ASCII under 256 KB: Python's)."""
    path.write_text("案件ID,回,実施日,担当ITC\nE-1,1,2024-05-01,架空\nE-1,2,2024-05-02," + fill * chars + "\n",
                    encoding="utf-8")
    return path


def long_line_csv(path: Path, line_bytes: int = 3 * 1024 * 1024, pad_to: int = 0) -> Path:
    """A line of many short fields longer than 2 MB (row 3); `pad_to` bytes of valid rows first (≥ 8 MB: DuckDB's
    parallel reader)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("案件ID,回,実施日,担当ITC\n")
        f.write("E-1,1,2024-05-01,架空\n")
        f.write("E-1,2,2024-05-02,架空" + ",x" * (line_bytes // 2) + "\n")
        n = 3
        while f.tell() < pad_to:
            f.write(f"E-{n},1,2024-05-01,架空\n" * 1000)
            n += 1
    return path


if __name__ == "__main__":      # python -m tests.support.upload_files OUT_DIR: write them all (for trying by hand)
    import sys
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    for fn, name in ((sparse_far_cell_xlsx, "伴走記録_XFD.xlsx"), (faked_dimension_xlsx, "伴走記録_dim.xlsx"),
                     (long_field_csv, "伴走記録_長い欄.csv"), (long_line_csv, "伴走記録_長い行.csv")):
        print(fn(out / name))
    print(f"{time.monotonic() - t:.1f} s")
