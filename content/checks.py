"""Automatic review checks run on submit: negative list (rule C2), sensitive words, personal data,
required metadata per kind (rule C4 for service guides). Each finding blocks approval unless the
approver overrides it with a recorded reason."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from content.kinds import KINDS, METADATA_LABELS, SERVICE_GUIDE_FIELDS, Kind

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?!\d)")


@dataclass(frozen=True)
class Finding:
    check: str  # negative_list | sensitive_word | id_card | mobile | metadata | c4_required |
    #             accessibility | attachment_unchecked
    message: str
    excerpt: str = ""
    field: str = ""  # the front matter field it was found in (body, doc_no, attachments, …)


@dataclass(frozen=True)
class Text:
    """One text a reader sees, and where it comes from."""

    field: str  # front matter field: title, doc_no, tags, body, images, attachments, …
    label: str  # the same in Chinese, as shown in a finding: 文号, 附件“表.pdf”的内容, …
    text: str


@dataclass(frozen=True)
class CheckRules:
    negative_terms: tuple[str, ...] = ()
    sensitive_words: tuple[str, ...] = ()

    @classmethod
    def from_files(cls, negative_list: Path | None, sensitive_words: tuple[str, ...] = (),
                   sensitive_file: Path | None = None) -> CheckRules:
        words = list(sensitive_words)
        if sensitive_file:
            words += read_term_file(sensitive_file)
        return cls(tuple(read_term_file(negative_list)) if negative_list else (),
                   tuple(dict.fromkeys(w for w in words if w)))


def read_term_file(path: Path) -> list[str]:
    """One term per line; blank lines and lines starting with ``#`` are ignored."""
    terms = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line)
    return terms


def valid_id_card(number: str) -> bool:
    """Mainland resident ID (GB 11643): 17 digits, then an ISO 7064 MOD 11-2 check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS))
    return ID_CHECK[total % 11] == number[17].upper()


def mask(value: str) -> str:
    return value[:3] + "*" * max(len(value) - 7, 1) + value[-4:] if len(value) > 7 else "***"


def missing_c4_fields(kind: Kind, fields: dict[str, object]) -> list[str]:
    """The service-guide items of rule C4 that ``fields`` leaves empty. A reviewer cannot
    override these: a guide without them is not published."""
    if kind is not Kind.SERVICE_GUIDE:
        return []
    return [name for name in SERVICE_GUIDE_FIELDS if not str(fields.get(name) or "").strip()]


def run_checks(draft_fields: dict[str, object], texts: list[Text], rules: CheckRules,
               images_without_alt: int = 0) -> list[Finding]:
    """``draft_fields`` maps metadata names to values; ``texts`` is every text a reader sees
    (every field, image descriptions, attachment names and contents), each checked on its own so
    that a finding names where it was found."""
    findings: list[Finding] = []
    for source in texts:
        findings += _text_findings(source, rules)
    kind = Kind(str(draft_fields["kind"]))
    c4 = set(missing_c4_fields(kind, draft_fields))
    for name in KINDS[kind].required:
        value = draft_fields.get(name)
        if name in c4:
            findings.append(Finding("c4_required",
                                    f"{KINDS[kind].label}缺少必填项“{METADATA_LABELS[name]}”"
                                    f"（front matter 字段 {name}；规则 C4，不能放行）", name, name))
        elif value in (None, "", ()):
            findings.append(Finding("metadata",
                                    f"{KINDS[kind].label}缺少必填项“{METADATA_LABELS.get(name, name)}”"
                                    f"（front matter 字段 {name}）", name, name))
    if images_without_alt:
        findings.append(Finding("accessibility",
                                f"{images_without_alt} 张图片缺少替代文字（alt），读屏用户无法获知内容",
                                "alt", "body"))
    return findings


def unchecked_attachment(name: str, reason: str) -> Finding:
    """An attachment whose text could not be read: a person has to look at it."""
    return Finding("attachment_unchecked",
                   f"附件“{name}”的内容未能自动检查（{reason}），请人工核对是否含有不予公开的信息",
                   name, "attachments")


def text_findings(source: Text, rules: CheckRules) -> list[Finding]:
    """The findings of one text on its own (negative list, sensitive words, personal data), as
    on submit; ``gongkai inspect`` runs it over the published pages."""
    return _text_findings(source, rules)


def _text_findings(source: Text, rules: CheckRules) -> list[Finding]:
    text, where = source.text, source.label
    found: list[Finding] = []
    if not text:
        return found
    for term in rules.negative_terms:
        if term in text:
            found.append(Finding("negative_list",
                                 f"{where}含有负面清单事项“{term}”（规则 C2：不予公开的事项）",
                                 term, source.field))
    for word in rules.sensitive_words:
        if word in text:
            found.append(Finding("sensitive_word", f"{where}含有敏感词“{word}”", word, source.field))
    for match in _ID_CANDIDATE.finditer(text):
        if valid_id_card(match.group(1)):
            found.append(Finding("id_card", f"{where}含有身份证号码（个人信息），请删除或脱敏",
                                 mask(match.group(1)), source.field))
    for match in _MOBILE.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        found.append(Finding("mobile", f"{where}含有手机号码（个人信息），请删除或脱敏；咨询电话请用固定电话",
                             mask(digits), source.field))
    return found
