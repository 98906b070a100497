"""The review checks read everything a reader sees, not only the body: every metadata field, tags,
service-guide fields, image descriptions, file names and the text inside PDF and DOCX
attachments. `秘密★` in the document number once passed review. A finding names the field it
was found in; an attachment whose text cannot be read is a finding too."""
from __future__ import annotations

from pathlib import Path

import pytest

from content import workflow
from content.checks import CheckRules
from tests.botproc import bot_env, cli_json, invoke
from tests.docfiles import docx_with_text, pdf_with_text

RULES = CheckRules(negative_terms=("秘密★",), sensitive_words=("待补充",))
FAKE_ID = "11010519491231002X"  # a made-up number with a valid check character
GUIDE = {"matter": "居住证签注", "basis": "《居住证暂行条例》", "office": "区政务服务中心",
         "process": "申请、受理、发证", "materials": "身份证", "fees": "不收费", "time_limit": "当场办结",
         "phone": "010-12345678"}


async def _findings(desk, item: int):  # noqa: ANN001, ANN202
    return await desk.store.transaction(lambda s: workflow.submit(
        s, item, actor="alice", now=desk.clock.now(), rules=RULES, files=desk.files))


@pytest.mark.parametrize("meta, field, label", [
    ({"doc_no": "示政发〔2026〕秘密★1号"}, "doc_no", "文号"),
    ({"issuer": "秘密★示例市政府"}, "issuer", "发文机关"),
    ({"index_no": "秘密★00001"}, "index_no", "索引号"),
    ({"topic": "秘密★"}, "topic", "主题分类"),
    ({"tags": ["政务", "秘密★"]}, "tags", "标签"),
    ({"summary": "本件为秘密★级"}, "summary", "摘要"),
    ({"validity": "秘密★"}, "validity", "有效性"),
])
async def test_the_negative_list_is_checked_in_every_field(desk, meta: dict, field: str,  # noqa: ANN001
                                                          label: str) -> None:
    item = await desk.add("policy", "关于公开的通知", body="正文无问题。", **meta)
    findings = [f for f in await _findings(desk, item) if f.check == "negative_list"]
    assert [(f.field, f.message) for f in findings] == [
        (field, f"{label}含有负面清单事项“秘密★”（规则 C2：不予公开的事项）")]


async def test_the_title_and_service_guide_fields_are_checked(desk) -> None:  # noqa: ANN001
    item = await desk.add("service_guide", "秘密★居住证指南",
                          **{**GUIDE, "materials": "身份证、待补充", "phone": "13800138000"})
    found = {(f.check, f.field, f.message.split("含有")[0]) for f in await _findings(desk, item)}
    assert found == {("negative_list", "title", "标题"), ("sensitive_word", "materials", "申请材料"),
                     ("mobile", "phone", "咨询电话")}


async def test_image_descriptions_and_file_names_are_checked(desk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\nchart")
    (tmp_path / "秘密★名单.pdf").write_bytes(pdf_with_text("公开的内容"))
    item = await desk.add("news", "动态", folder=tmp_path, body="![联系人身份证 " + FAKE_ID + "](chart.png)\n\n"
                          "![远程图待补充](https://example.gov.cn/a.png)",
                          attachments=["秘密★名单.pdf"])
    found = sorted((f.check, f.field, f.message.split("含有")[0]) for f in await _findings(desk, item))
    assert found == [("id_card", "images", "图片“chart.png”的说明"),
                     ("negative_list", "attachments", "文件名“秘密★名单.pdf”"),
                     ("sensitive_word", "body", "正文图片的替代文字")]


async def test_the_text_of_pdf_and_docx_attachments_is_checked(desk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "通知.pdf").write_bytes(pdf_with_text("关于某事项的通知", "密级：秘密★一年"))
    (tmp_path / "名单.docx").write_bytes(docx_with_text("联系人：张三", f"身份证号 {FAKE_ID}", "金额待补充"))
    (tmp_path / "干净.docx").write_bytes(docx_with_text("一切正常"))
    item = await desk.add("news", "附件检查", folder=tmp_path, body="见附件。",
                          attachments=["通知.pdf", "名单.docx", "干净.docx"])
    found = sorted((f.check, f.message.split("含有")[0], f.excerpt) for f in await _findings(desk, item))
    assert found == [("id_card", "附件“名单.docx”的内容", "110***********002X"),
                     ("negative_list", "附件“通知.pdf”的内容", "秘密★"),
                     ("sensitive_word", "附件“名单.docx”的内容", "待补充")]


async def test_an_attachment_that_cannot_be_read_needs_a_person(desk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "旧格式.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    (tmp_path / "坏的.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    (tmp_path / "坏的.docx").write_bytes(b"PK\x03\x04 not a zip")
    item = await desk.add("news", "附件", folder=tmp_path, body="见附件。",
                          attachments=["旧格式.doc", "坏的.pdf", "坏的.docx"])
    found = [(f.check, f.excerpt) for f in await _findings(desk, item)]
    assert found == [("attachment_unchecked", "旧格式.doc"), ("attachment_unchecked", "坏的.pdf"),
                     ("attachment_unchecked", "坏的.docx")]
    # a reviewer who has read them may let them through with a reason
    result = await desk.store.transaction(lambda s: workflow.approve(
        s, item, actor="bob", now=desk.clock.now(), override_reason="已人工核对三个附件"))
    assert result.overridden == 3


async def test_a_clean_item_with_attachments_passes(desk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "通知.pdf").write_bytes(pdf_with_text("关于公开工作的通知"))
    (tmp_path / "说明.docx").write_bytes(docx_with_text("办理说明"))
    item = await desk.add("news", "干净的动态", folder=tmp_path, body="正文。",
                          attachments=["通知.pdf", "说明.docx"], tags=["政务公开"])
    assert await _findings(desk, item) == []


def test_submit_shows_where_each_problem_is(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url)
    (tmp_path / "附件.pdf").write_bytes(pdf_with_text("绝密★内容"))
    (tmp_path / "p.md").write_text(
        "---\nkind: 政策文件\ntitle: 关于公开的通知\ndepartment: 办公室\nindex_no: 1100/2026-1\n"
        "doc_no: 示政发〔2026〕秘密★1号\nissuer: 示例市政府\nissued: 2026-11-18\n"
        "attachments: [附件.pdf]\n---\n正文。\n", encoding="utf-8")
    item = cli_json(env, "post", "add", str(tmp_path / "p.md"))["id"]
    findings = cli_json(env, "post", "submit", str(item))["findings"]
    assert [(f["check"], f["field"], f["excerpt"]) for f in findings] == [
        ("negative_list", "doc_no", "秘密★"), ("negative_list", "attachments", "绝密★")]
    text = invoke(env, "post", "show", str(item)).output
    assert "文号含有负面清单事项“秘密★”" in text and "附件“附件.pdf”的内容含有负面清单事项“绝密★”" in text


def test_approve_refuses_to_override_a_missing_c4_field_in_one_line(tmp_path: Path,
                                                                     sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url)
    fields = "".join(f"{k}: {v}\n" for k, v in GUIDE.items() if k != "fees")
    (tmp_path / "g.md").write_text(f"---\nkind: 办事指南\ntitle: 居住证办理指南\ndepartment: 区政务服务局\n"
                                   f"{fields}---\n正文。\n", encoding="utf-8")
    item = cli_json(env, "post", "add", str(tmp_path / "g.md"))["id"]
    invoke(env, "post", "submit", str(item))
    result = invoke(env, "post", "approve", str(item), "--override", "领导同意", user="bob", code=2)
    assert result.output.strip() == (
        f"错误：稿件 {item} 是办事指南，缺少规则 C4 规定的必填项“收费标准”，必填项不能用 --override 放行"
        f"（在 front matter 中补全（fees）后重新提交：gongkai post edit {item} FILE.md，"
        f"再 gongkai post submit {item}）")
    assert cli_json(env, "post", "show", str(item))["state"] == "submitted"


async def test_without_the_file_store_attachments_are_not_passed_unread(desk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "通知.pdf").write_bytes(pdf_with_text("秘密★"))
    item = await desk.add("news", "附件", folder=tmp_path, attachments=["通知.pdf"])
    findings = await desk.store.transaction(lambda s: workflow.submit(
        s, item, actor="alice", now=desk.clock.now(), rules=RULES))
    assert [(f.check, f.excerpt) for f in findings] == [("attachment_unchecked", "通知.pdf")]
