"""Where the project's files are: one place, so moving a module never moves its data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = ROOT / "knowledge"
TEMPLATES_DIR = ROOT / "templates"
MIGRATIONS_DIR = ROOT / "migrations"
INSTANCE_DIR = ROOT / "instance"
MENU_FILE = ROOT / "bot" / "wechat" / "menu.yaml"
