"""What the tests share, and nothing else: the fixture databases (fixture_db, and conftest's sample and record
databases built from etl.load), page openers and readers for AppTest (pages, map_page, kpis), the independent
computations (oracle), record files (etl_helpers, upload_files, hostile) and the browser harness (browser).
A test module imports from here, never from another test module or from conftest."""
