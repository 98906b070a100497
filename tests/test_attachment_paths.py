"""Images and attachments come only from the Markdown file's folder: a path that climbs out
(``..``), an absolute path, a symbolic link out of the folder or a file that is not an image or
document is refused with one Chinese line, and nothing reaches the store or the files directory
(which the website serves under /files/)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from content import frontmatter, workflow
from content.errors import InputError
from content.files import FileStore
from content.models import Attachment, Item
from tests.botproc import bot_env, cli_json, invoke

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
SECRET = 'admin_token = "s3cret-do-not-publish"\n'


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    """A bot folder with a config file next to the authors' folder."""
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / "config.toml").write_text(SECRET, encoding="utf-8")
    posts = bot / "posts"
    posts.mkdir()
    (posts / "chart.png").write_bytes(PNG)
    return bot, posts


def _post(posts: Path, meta: str, body: str = "正文。") -> Path:
    f = posts / "post.md"
    f.write_text(f"---\nkind: news\ntitle: 附件测试\ndepartment: 办公室\n{meta}\n---\n{body}\n",
                 encoding="utf-8")
    return f


def _links(posts: Path, bot: Path) -> None:
    (posts / "passwd.pdf").symlink_to("/etc/passwd")
    (posts / "config.png").symlink_to(bot / "config.toml")
    (posts / "up").symlink_to(bot, target_is_directory=True)
    (posts / "loop.pdf").symlink_to(posts / "loop2.pdf")
    (posts / "loop2.pdf").symlink_to(posts / "loop.pdf")


OUTSIDE = [
    ("attachments: [/etc/passwd]", "", "attachments", "/etc/passwd 是绝对路径"),
    ("attachments: [../config.toml]", "", "attachments", "../config.toml 含有“..”"),
    ("images: [{path: ../config.toml, alt: 配置}]", "", "images", "../config.toml 含有“..”"),
    ("cover: ../../../../../../etc/passwd", "", "cover", "含有“..”"),
    ("", "![图](../config.toml)", "body", "../config.toml 含有“..”"),
    ("", "![图](sub/../../config.toml)", "body", "含有“..”"),
    ("attachments: [passwd.pdf]", "", "attachments", "passwd.pdf 是指向 Markdown 文件所在文件夹之外的符号链接"),
    ("images: [config.png]", "", "images", "config.png 是指向 Markdown 文件所在文件夹之外的符号链接"),
    ("", "![图](up/config.toml)", "body", "up/config.toml 是指向 Markdown 文件所在文件夹之外的符号链接"),
    ("attachments: [~/.ssh/id_rsa]", "", "attachments", "是绝对路径"),
    ("attachments: [loop.pdf]", "", "attachments", "loop.pdf 是循环的符号链接"),
]


@pytest.mark.parametrize("meta, body, field, words", OUTSIDE)
def test_files_outside_the_markdown_folder_are_refused(tmp_path: Path, meta: str, body: str,
                                                       field: str, words: str) -> None:
    bot, posts = _layout(tmp_path)
    _links(posts, bot)
    with pytest.raises(InputError) as err:
        frontmatter.load(_post(posts, meta, body))
    assert err.value.field == field
    assert words in err.value.message
    assert "Markdown 文件所在的文件夹" in err.value.fix


@pytest.mark.parametrize("name, payload, words", [
    ("notes.toml", SECRET.encode(), "类型 .toml 不能发布"),
    ("notes", SECRET.encode(), "类型 （无扩展名） 不能发布"),
    ("fake.pdf", SECRET.encode(), "fake.pdf 的内容不是 .pdf 格式"),
    ("page.svg", b"<svg onload='alert(1)'/>", "类型 .svg 不能发布"),
])
def test_only_images_and_documents_can_be_attached(tmp_path: Path, name: str, payload: bytes,
                                                   words: str) -> None:
    _, posts = _layout(tmp_path)
    (posts / name).write_bytes(payload)
    with pytest.raises(InputError) as err:
        frontmatter.load(_post(posts, f"attachments: [{name}]"))
    assert err.value.field == "attachments" and words in err.value.message


def test_files_in_the_folder_and_links_inside_it_are_accepted(tmp_path: Path) -> None:
    _, posts = _layout(tmp_path)
    (posts / "img").mkdir()
    (posts / "img" / "flow.png").write_bytes(PNG + b"flow")
    (posts / "same.png").symlink_to(posts / "chart.png")
    (posts / "申请表.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    draft = frontmatter.load(_post(posts, "images: [img/flow.png, same.png]\nattachments: [申请表.pdf]",
                                   "![图解](chart.png)"))
    assert [(r.role, r.path.name) for r in draft.files] == [
        ("image", "chart.png"), ("image", "flow.png"), ("image", "chart.png"),
        ("attachment", "申请表.pdf")]


def test_a_draft_built_without_a_folder_cannot_name_local_files(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir("/etc")
    with pytest.raises(InputError) as err:
        frontmatter.build({"kind": "news", "title": "无文件夹", "attachments": ["passwd"]}, "正文")
    assert err.value.field == "attachments" and "不是从 Markdown 文件读入的" in err.value.message


def test_the_file_store_checks_again_when_it_copies(tmp_path: Path) -> None:
    """A file swapped for a link between reading the front matter and saving the item."""
    bot, posts = _layout(tmp_path)
    draft = frontmatter.load(_post(posts, "images: [chart.png]"))
    (posts / "chart.png").unlink()
    (posts / "chart.png").symlink_to(bot / "config.toml")
    store = FileStore(tmp_path / "files")
    with pytest.raises(InputError):
        store.put(draft.files[0].path, role="image", inside=posts)
    assert not (tmp_path / "files").exists() or not any((tmp_path / "files").iterdir())


def test_post_add_refuses_in_one_line_and_stores_nothing(tmp_path: Path, sqlite_url: str) -> None:
    bot, posts = _layout(tmp_path)
    _links(posts, bot)
    env = bot_env(tmp_path, sqlite_url)
    for meta in ("attachments: [/etc/passwd]", "attachments: [../config.toml]",
                 "attachments: [passwd.pdf]", "images: [config.png]"):
        result = invoke(env, "post", "add", str(_post(posts, meta)), code=2)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(("错误：attachments: ", "错误：images: ")), \
            result.output
        assert "Traceback" not in result.output
    assert cli_json(env, "post", "list")["items"] == []
    files_dir = tmp_path / "var" / "files"
    assert not files_dir.exists() or not any(files_dir.iterdir())


async def test_a_refused_file_leaves_the_store_unchanged(desk, tmp_path: Path) -> None:  # noqa: ANN001
    bot, posts = _layout(tmp_path)
    _links(posts, bot)
    for meta in ("attachments: [passwd.pdf]", "images: [../config.toml]"):
        with pytest.raises(InputError):
            draft = frontmatter.load(_post(posts, meta))
            await desk.store.transaction(lambda s, draft=draft: workflow.add_item(
                s, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    async with desk.store.sessions() as s:
        assert await s.scalar(select(func.count(Item.id))) == 0
        assert await s.scalar(select(func.count(Attachment.id))) == 0
    assert not desk.files.root.exists() or os.listdir(desk.files.root) == []
