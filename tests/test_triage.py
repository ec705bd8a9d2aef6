"""Unit tests for the deterministic immediate-harm detector (bot/core/triage.py)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.datafile import DataFileError
from bot.core.triage import (
    RULES_PATH,
    SCAN_LIMIT_CHARS,
    URGENCIES,
    Assessment,
    Detector,
    assess,
    compile_phrase,
    load_rules,
    raise_floor,
)
from tests.conftest import SEEDS_DIR

SEEDS = SEEDS_DIR


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_rules())


def level(detector: Detector, text: str) -> str:
    return detector.assess(text).urgency


# --------------------------------------------------------------------------- the API


def test_urgencies_are_ordered_low_to_high() -> None:
    assert URGENCIES == ("routine", "urgent", "immediate")


@pytest.mark.parametrize(
    ("detected", "classified", "expected"),
    [
        ("routine", "immediate", "immediate"),
        ("routine", "urgent", "urgent"),
        ("urgent", "immediate", "immediate"),
        ("immediate", "routine", "immediate"),
        ("immediate", "urgent", "immediate"),
        ("urgent", "routine", "urgent"),
        ("urgent", "urgent", "urgent"),
        ("routine", "routine", "routine"),
    ],
)
def test_raise_floor_takes_the_higher(detected: str, classified: str, expected: str) -> None:
    assert raise_floor(detected, classified) == expected


@pytest.mark.parametrize("junk", [None, "", "IMMEDIATE", "high", "999"])
def test_raise_floor_ignores_an_unknown_classifier_value(junk: str | None) -> None:
    assert raise_floor("urgent", junk) == "urgent"
    assert raise_floor("immediate", junk) == "immediate"


def test_raise_floor_refuses_an_unknown_detected_level() -> None:
    with pytest.raises(ValueError, match="unknown urgency 'severe'"):
        raise_floor("severe", "urgent")


def test_assessment_is_frozen_and_complete() -> None:
    result = assess("he has a knife")
    assert isinstance(result, Assessment)
    assert result.urgency == "immediate"
    assert [sign.rule_id for sign in result.signs] == ["weapon"]
    assert result.signs[0].label == "weapon"
    assert any("999" in reason for reason in result.reasons)
    with pytest.raises(AttributeError):
        result.urgency = "routine"  # type: ignore[misc]


def test_nothing_found_says_so() -> None:
    result = assess("can I change my supervision to Thursday?")
    assert result.urgency == "routine"
    assert result.signs == ()
    assert result.reasons == ("no danger sign found",)


def test_assess_refuses_non_strings_plainly(detector: Detector) -> None:
    with pytest.raises(TypeError, match="takes a str"):
        detector.assess(b"knife")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- offsets


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("hes got a knfe in his bag", "knfe"),
        ("Kid ODd at lunch", "ODd"),
        ("She’s “scared to go home”", "scared to go home"),
        ("ＨＥ ＨＡＳ Ａ ＫＮＩＦＥ", "ＫＮＩＦＥ"),
        ("zero\u200bwidth: he has a kni\u200bfe", "kni\u200bfe"),
        ("🙂🙂 cant go home 🙂", "cant go home"),
        ("line one\r\nshe cannot go home", "cannot go home"),
    ],
)
def test_sign_offsets_point_at_the_words_as_typed(
    detector: Detector, text: str, quoted: str
) -> None:
    result = detector.assess(text)
    assert result.urgency == "immediate", result
    sign = result.signs[0]
    assert text[sign.start : sign.end] == sign.text == quoted


def test_each_sign_has_its_own_offsets(detector: Detector) -> None:
    text = "He has a knife. She is not safe. Nobody knows where she is."
    found = {sign.rule_id: sign for sign in detector.assess(text).signs}
    assert set(found) >= {"weapon", "in_danger", "missing_now"}
    for sign in found.values():
        assert text[sign.start : sign.end] == sign.text
    assert found["weapon"].text == "knife"
    assert found["in_danger"].text == "not safe"
    assert found["missing_now"].text == "Nobody knows where"


# --------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "text",
    [
        "she is not in danger",
        "no weapon involved",
        "he hasn't got a knife",
        "he doesnt have a knife",
        "she is not scared to go home",
        "There's no sign of any injury and she isn't bleeding",
        "he's not suicidal",
        "she's no longer missing",
    ],
)
def test_negation_drops_the_sign(detector: Detector, text: str) -> None:
    result = detector.assess(text)
    assert result.urgency == "routine", result
    assert any("negated" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "she is not safe",
        "He isn't safe at home",
        "she can't go home",
        "cant go home dad will kill him",
        "she doesn't feel safe at home",
        "nobody knows where she is",
        "he didn't come home last night",
        "the baby isn't breathing",
    ],
)
def test_negation_that_is_the_danger_is_not_a_denial(detector: Detector, text: str) -> None:
    assert level(detector, text) == "immediate"


@pytest.mark.parametrize(
    "text",
    [
        "I'm not sure but he might have a knife",
        "no idea if he has a knife",
        "no one knows where he is",
        "not sure, but she says he will kill her",
    ],
)
def test_uncertainty_is_not_negation(detector: Detector, text: str) -> None:
    assert level(detector, text) == "immediate"


@pytest.mark.parametrize(
    "text",
    [
        "no knife but he said he will stab her",
        "he doesn't have a gun, he has a knife",
        "She isn't hurt, but she is scared to go home",
        "not at school today and she has run away",
    ],
)
def test_negation_stops_at_a_clause_break(detector: Detector, text: str) -> None:
    assert level(detector, text) == "immediate"


@pytest.mark.parametrize(
    "text",
    [
        "if she doesn't go back to his flat tonight he says he'll stab her",
        "unless he doesn't turn up tonight they'll post the nudes of him",
        "if I don't meet them after school they'll hurt my sister",
    ],
)
def test_a_conditions_negation_does_not_deny_the_threat(detector: Detector, text: str) -> None:
    # "If X doesn't..." negates the condition's own verb, not the threat or its time.
    assert level(detector, text) == "immediate"


@pytest.mark.parametrize(
    "text",
    [
        "if she doesn't want to talk about it that's fine, we'll try next week",
        "if he doesn't come to football tonight his dad will ring us",
    ],
)
def test_a_condition_alone_is_no_danger(detector: Detector, text: str) -> None:
    assert level(detector, text) == "routine"


def test_negation_window_is_short(detector: Detector) -> None:
    # The "not" is far from the weapon and belongs to another statement.
    assert level(detector, "she did not want to talk to me about it because he has a knife") == (
        "immediate"
    )


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    "text",
    [
        "he hit her last year",
        "he had a knife last year",
        "when she was 7 he threatened to kill her",
        "she said her uncle touched her when she was little",
        "a few years ago she took an overdose",
        "he used to lock her in her room",
        "she ran away last summer",
        "She was stabbed two years ago",
        "She told me today that her stepdad raped her when she was 7",
    ],
)
def test_non_recent_harm_is_urgent(detector: Detector, text: str) -> None:
    assert level(detector, text) == "urgent"


@pytest.mark.parametrize(
    "text",
    [
        "he hit her last year and he still lives with her",
        "He touched her when she was little. He still lives with them.",
        "he raped her two years ago and he's coming round tonight",
        "he abused her years ago and has just been released",
        "when she was 7 he threatened to kill her and now he's outside",
    ],
)
def test_non_recent_harm_with_a_current_risk_is_immediate(detector: Detector, text: str) -> None:
    assert level(detector, text) == "immediate"


@pytest.mark.parametrize(
    "text",
    [
        "her dad hit her this morning",
        "he's hurting her right now",
        "her uncle touched her last night",
        "he is in her room right now",
        "her 3 year old brother is home alone right now",
        "she's self harming right now",
    ],
)
def test_present_or_recent_harm_is_immediate(detector: Detector, text: str) -> None:
    assert level(detector, text) == "immediate"


def test_the_day_of_telling_does_not_make_old_harm_current(detector: Detector) -> None:
    text = "she told me this morning that her grandad abused her when she was 6"
    assert level(detector, text) == "urgent"
    assert level(detector, "He touched her when she was 6, what do I do now?") == "urgent"


def test_harm_without_a_time_is_urgent(detector: Detector) -> None:
    assert level(detector, "her dad hits her when he's drunk") == "urgent"
    assert level(detector, "he said his stepdad touches him") == "urgent"


# --------------------------------------------------------------------------- hypotheticals


@pytest.mark.parametrize(
    "text",
    [
        "what if a child said he had a knife?",
        "What should I do if a young person tells me they want to kill themselves?",
        "If a pupil says she is scared to go home, who do I call?",
        "hypothetically, if a kid said he was going to stab someone, who do I tell?",
        "Training scenario. A girl says her stepdad touched her. What do you do?",
        "what is FGM?",
        "what are the signs of CSE",
        "is FGM illegal in the UK",
    ],
)
def test_hypothetical_and_guidance_questions_are_routine(detector: Detector, text: str) -> None:
    result = detector.assess(text)
    assert result.urgency == "routine", result
    assert result.signs, "the sign is still reported, at routine"
    assert all(sign.urgency == "routine" for sign in result.signs)


@pytest.mark.parametrize(
    "text",
    [
        "what if he has a knife?",
        "what do I do, he's got a knife",
        "what is she meant to do, her dad has a gun",
        "Do I call 999? She's taken an overdose",
        "what if a child said he had a knife? One of mine just did. He has a knife",
    ],
)
def test_real_situations_phrased_as_questions_stay_high(detector: Detector, text: str) -> None:
    assert level(detector, text) == "immediate"


# --------------------------------------------------------------------------- escalation


def test_suicidal_thoughts_alone_are_urgent_with_means_immediate(detector: Detector) -> None:
    assert level(detector, "he says he wants to die") == "urgent"
    assert level(detector, "he says he wants to die. He has been saving his tablets.") == (
        "immediate"
    )
    assert level(detector, "she feels suicidal and wants to do it tonight") == "immediate"


def test_fgm_past_is_urgent_imminent_is_immediate(detector: Detector) -> None:
    assert level(detector, "she had FGM done as a baby") == "urgent"
    assert level(detector, "she is worried about FGM, they fly out next week") == "immediate"


# --------------------------------------------------------------------------- robustness


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=st.text(max_size=400))
def test_assess_never_raises_and_is_consistent(detector: Detector, text: str) -> None:
    result = detector.assess(text)
    assert result.urgency in URGENCIES
    for sign in result.signs:
        assert 0 <= sign.start <= sign.end <= len(text)
        assert text[sign.start : sign.end] == sign.text
    assert result == detector.assess(text), "deterministic"


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    words=st.lists(
        st.sampled_from(
            [
                "he",
                "has",
                "a",
                "knife",
                "not",
                "no",
                "last",
                "year",
                "what",
                "if",
                "child",
                "'s",
                "scared",
                "to",
                "go",
                "home",
                ",",
                ".",
                "?",
                "tonight",
                "still",
                "lives",
                "with",
                "her",
                "🙂",
                "\u202e",
                "\x00",
                "\n",
                "n't",
                "kill",
                "ODd",
                "od'd",
            ]
        ),
        max_size=40,
    )
)
def test_assess_never_raises_on_word_salad(detector: Detector, words: list[str]) -> None:
    text = " ".join(words)
    result = detector.assess(text)
    assert result.urgency in URGENCIES
    for sign in result.signs:
        assert text[sign.start : sign.end] == sign.text


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02",
        "🙂" * 5000,
        "!" * 60_000,
        "\u202eenif a sah eh\u202c",
        "هو يحمل سكينا",
        "\ud800 lone surrogate",
        "a" * 100_000,
        "\n" * 10_000,
    ],
)
def test_hostile_input_never_raises(detector: Detector, text: str) -> None:
    assert detector.assess(text).urgency in URGENCIES


def test_signs_in_the_first_scan_limit_are_always_found(detector: Detector) -> None:
    filler = "We talked about her week and her lessons. " * 2000
    text = filler[: SCAN_LIMIT_CHARS - 200] + " He has a knife. " + "x" * 50_000
    result = detector.assess(text)
    assert result.truncated
    assert result.urgency == "immediate"
    assert any("only the first" in reason for reason in result.reasons)


def test_text_beyond_the_scan_limit_is_not_read(detector: Detector) -> None:
    text = "a " * SCAN_LIMIT_CHARS + "he has a knife"
    result = detector.assess(text)
    assert result.truncated and result.urgency == "routine"


def test_a_sign_hidden_in_a_long_junk_run_is_still_found(detector: Detector) -> None:
    assert level(detector, "!!!!!!!!!!" * 10 + "knife" + "!!!!!!!!!!" * 10) == "immediate"
    assert level(detector, "🙂" * 100 + " he has a knife " + "🙂" * 100) == "immediate"


def test_upper_case_and_full_width_text(detector: Detector) -> None:
    assert level(detector, "SHE IS SCARED TO GO HOME") == "immediate"
    assert level(detector, "ｓｈｅ ｉｓ ｎｏｔ ｓａｆｅ") == "immediate"


# --------------------------------------------------------------------------- the data


def test_rules_file_is_valid_and_every_rule_names_its_seed() -> None:
    rules = load_rules()
    assert len(rules.rules) >= 15
    assert sum(rule.urgency == "immediate" for rule in rules.rules) >= 10
    for rule in rules.rules:
        assert rule.source and rule.why.strip() and rule.sign.strip()
        # Every rule names a seed; a published guide may be cited beside it.
        assert any(source.seed for source in rule.source), f"{rule.id}: no seed source"
        for source in rule.source:
            if SEEDS.exists() and source.seed:
                seed = SEEDS / source.seed
                assert seed.exists(), f"{rule.id}: {source.seed} is not a seed file"


def test_every_rule_fires_on_its_own_phrases(detector: Detector) -> None:
    """Each rule's first phrase, written out plainly, is found by that rule."""
    examples = {
        "weapon": "he has a machete",
        "threat_to_kill": "he threatened to stab her",
        "violence_now": "he's hitting her",
        "cannot_go_home": "she is scared to go home",
        "in_danger": "she is in danger",
        "overdose_or_poisoning": "she overdosed",
        "overdose_in_care": "she is on the ward after an overdose",
        "unresponsive_or_critical": "he is unconscious",
        "serious_injury": "he is bleeding",
        "suicide_plan": "she is going to kill herself",
        "held_or_trafficked": "she is locked in the flat",
        "moved_or_collected": "a car is waiting for her outside",
        "attack_planned": "he is planning an attack",
        "missing_now": "she has gone missing",
        "fgm": "her sister had FGM",
        "forced_marriage": "she is being forced to marry",
        "suicidal_thoughts": "he feels suicidal",
        "self_harm": "she is cutting herself",
        "physical_abuse": "her dad hits her",
        "sexual_abuse": "her uncle touched her",
        "exploitation": "he is involved in county lines",
        "neglect": "they are left home alone",
        "domestic_abuse": "there is domestic abuse at home",
        "radicalisation": "he is watching extremist videos",
        "disclosure": "she disclosed something",
        "locked_in_habitually": "her dad locks her in her room",
        "ran_away_before": "she ran away",
        "taken_abroad": "she is being taken abroad",
        "sent_by_exploiters": "they told him to go to an address in another town",
        "young_child_alone": "the toddler is on his own in the flat",
        "unsafe_carer_now": "her dad is drunk and has the car keys",
        "intoxicated_carer": "her mum is drunk",
        "emotional_abuse": "her dad calls her worthless",
        "image_blackmail": "a man online is blackmailing him",
        "young_child_in_car": "the baby is in the car",
        "barred_person": "there is a no contact order",
        "medicine_withheld": "she has run out of her insulin",
        "breast_ironing": "her aunt does breast ironing",
        "bruised_baby": "the newborn has a bruise",
        "veiled_threat": "dad told her she'll get what her mum got",
        "family_death_threat": "mum says she and the kids will be dead soon",
        "child_minding_baby": "a 7 year old is looking after the baby",
        "belief_based_abuse": "her aunt says she is a witch",
        "weapon_taken_off": "we confiscated a knife from him",
        "child_not_seen": "no one has seen her all week",
        "struggling_to_breathe": "she is struggling for breath",
    }
    assert set(examples) == {rule.id for rule in load_rules().rules}
    for rule_id, text in examples.items():
        found = {sign.rule_id for sign in detector.assess(text).signs}
        assert rule_id in found, f"{rule_id} not found in {text!r}: {found}"


def write_rules(tmp_path: Path, change) -> Path:  # noqa: ANN001
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "danger_rules.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_yaml_no_that_became_false_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "danger_rules.yml"
    text = RULES_PATH.read_text(encoding="utf-8").replace('      - "no"\n', "      - no\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"negation\.cues\.phrases\[\d+\]: str type expected"):
        load_rules(path)


def test_a_rule_without_a_source_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"][0].update(source=[]))
    with pytest.raises(DataFileError, match=r"rules\[0\]\.source: every rule names"):
        load_rules(path)


def test_a_bad_seed_name_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"][0]["source"][0].update(seed="policy.txt"))
    with pytest.raises(DataFileError, match="is not a seed file name"):
        load_rules(path)


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"].append(dict(d["rules"][0])))
    with pytest.raises(DataFileError, match="rule id 'weapon' is used twice"):
        load_rules(path)


def test_an_unknown_escalation_list_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"][-1].update(escalate_with=["soonish"]))
    with pytest.raises(DataFileError, match="unknown cue list 'soonish'"):
        load_rules(path)


def test_unknown_fields_are_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"][0].update(severity="high"))
    with pytest.raises(DataFileError, match=r"rules\[0\]\.severity: extra fields not permitted"):
        load_rules(path)


def test_a_bad_phrase_stops_start_up_with_one_line(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"][0]["phrases"].append("(knife|gun"))
    with pytest.raises(DataFileError) as error:
        Detector(load_rules(path), source="danger_rules.yml")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("danger_rules.yml: rules[0] (weapon): phrase")
    assert "unbalanced '('" in message


def test_a_bad_matcher_pattern_stops_start_up_with_one_line(tmp_path: Path) -> None:
    path = write_rules(tmp_path, lambda d: d["rules"][0].update(patterns=[[{"LOWRE": "x"}]]))
    with pytest.raises(DataFileError, match=r"rules\[0\] \(weapon\): bad Matcher pattern"):
        Detector(load_rules(path), source="danger_rules.yml")


# --------------------------------------------------------------------------- phrase syntax


@pytest.fixture(scope="module")
def nlp():  # noqa: ANN201
    from bot.core.nlp import english

    return english()


def test_phrase_syntax_compiles_to_matcher_patterns(nlp) -> None:  # noqa: ANN001
    sets = {"pron": ["her", "him", "the baby"]}
    assert compile_phrase("can't go home", sets, nlp) == [
        [{"LOWER": "ca"}, {"LOWER": "n't"}, {"LOWER": "go"}, {"LOWER": "home"}]
    ]
    assert compile_phrase("~kill $pron", sets, nlp) == [
        [{"LEMMA": "kill"}, {"LOWER": {"IN": ["her", "him"]}}],
        [{"LEMMA": "kill"}, {"LOWER": "the"}, {"LOWER": "baby"}],
    ]
    assert compile_phrase("a|b c?", sets, nlp) == [
        [{"LOWER": {"IN": ["a", "b"]}}, {"LOWER": "c", "OP": "?"}]
    ]
    gap = compile_phrase("x _{1,2} y", sets, nlp)[0]
    assert len(gap) == 4 and gap[2]["OP"] == "?" and "OP" not in gap[1]


@pytest.mark.parametrize(
    ("phrase", "problem"),
    [
        ("(a|b", "unbalanced '('"),
        ("a)", "unbalanced ')'"),
        ("$nope", "unknown word set $nope"),
        ("a?", "every word is optional"),
        ("x _{0,9}", "high at most 8"),
        ("(a|)", "empty alternative"),
        ("(her|his)self", "a group must stand alone"),
    ],
)
def test_bad_phrases_are_explained(nlp, phrase: str, problem: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=re.escape(problem)):
        compile_phrase(phrase, {}, nlp)


def test_typos_with_capitals_only_match_that_case(detector: Detector) -> None:
    # "ODd" is an overdose; "odd" is an ordinary word.
    assert level(detector, "kid ODd") == "immediate"
    assert level(detector, "she's been acting odd lately") == "routine"


def test_rules_header_documents_the_scan_limit() -> None:
    doc = textwrap.dedent(__import__("bot.core.triage").core.triage.__doc__ or "")
    assert "SCAN_LIMIT_CHARS" in doc and str(SCAN_LIMIT_CHARS // 1024) in doc


def test_offsets_survive_long_junk_runs(detector: Detector) -> None:
    text = "!" * 40 + "knife" + "!" * 40
    result = detector.assess(text)
    assert result.urgency == "immediate"
    assert [(s.text, s.start, s.end) for s in result.signs] == [("knife", 40, 45)]


# --------------------------------------------------------------------------- the bot's own text

REPO = Path(__file__).resolve().parent.parent

NON_DANGER_FAQ_INTENTS = (
    "greet",
    "goodbye",
    "thank",
    "help",
    "affirm",
    "deny",
    "bot_challenge",
    "new_worker_what_to_do",
    "ask_promise_secret",
    "ask_leading_question",
    "ask_tell_parent",
    "ask_investigate",
    "ask_written_statement",
    "ask_how_to_record",
    "ask_abuse_signs",
    "ask_timescale",
    "ask_child_definition",
    "ask_training",
    "ask_after_report",
    "skip_question",
    "cancel",
    "pause",
    "resume",
    "correct_answer",
    "list_open_concerns",
    "keep_wording",
    "lead_update",
)

FAQ_FALSE_ALARM_LIMIT = 0.05

# Training examples of the FAQ intents that really do describe a child in danger now, so
# the detector is right to call them immediate (each with why). Empty: none found so far.
FAQ_REAL_DANGER: dict[str, str] = {}


def _button_payloads(node: object) -> list[str]:
    """Every button payload in a domain.yml tree that is text, not an intent ("/greet")."""
    found: list[str] = []
    if isinstance(node, dict):
        payload = node.get("payload")
        if isinstance(payload, str) and not payload.startswith("/"):
            found.append(payload)
        for value in node.values():
            found.extend(_button_payloads(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_button_payloads(item))
    return found


def _faq_examples() -> list[tuple[str, str]]:
    nlu = yaml.safe_load((REPO / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    examples: list[tuple[str, str]] = []
    for block in nlu:
        if block.get("intent") not in NON_DANGER_FAQ_INTENTS:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                # Entity annotations "[text](entity)" keep their text.
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line[2:].strip())
                examples.append((block["intent"], text))
    return examples


def test_no_button_payload_is_rated_immediate(detector: Detector) -> None:
    """A tapped button ("signs of trafficking") is a choice, never a report of danger."""
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    payloads = sorted(set(_button_payloads(domain)))
    assert any(p.startswith("signs of ") for p in payloads), "the signs-of menu has moved"
    alarms = [p for p in payloads if level(detector, p) == "immediate"]
    print(f"\ndomain.yml: {len(payloads)} text button payloads, {len(alarms)} rated immediate")
    assert not alarms, f"button payloads rated immediate: {alarms}"


def test_signs_of_menu_payloads_are_routine(detector: Detector) -> None:
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    signs = sorted({p for p in _button_payloads(domain) if p.startswith("signs of ")})
    assert len(signs) >= 10
    assert {p: level(detector, p) for p in signs} == dict.fromkeys(signs, "routine")


def test_faq_intent_examples_rarely_raise_a_false_alarm(detector: Detector) -> None:
    """The non-danger FAQ intents' training examples: false-alarm rate printed, at most 5%."""
    examples = _faq_examples()
    intents = {intent for intent, _ in examples}
    assert intents == set(NON_DANGER_FAQ_INTENTS), set(NON_DANGER_FAQ_INTENTS) - intents
    assert len(examples) >= 500
    alarms = [
        (intent, text)
        for intent, text in examples
        if text not in FAQ_REAL_DANGER and level(detector, text) == "immediate"
    ]
    rate = len(alarms) / len(examples)
    print(
        f"\nnlu FAQ intents: false-alarm rate {rate:.3f} ({len(alarms)}/{len(examples)} "
        f"training examples of {len(intents)} non-danger intents rated immediate; "
        f"{len(FAQ_REAL_DANGER)} allowed as real danger)"
    )
    for intent, text in alarms:
        print(f"nlu FAQ intents:   {intent}: {text!r}")
    assert rate <= FAQ_FALSE_ALARM_LIMIT, "\n".join(f"{i}: {t!r}" for i, t in alarms)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Decision (issue 5): locked in now or just now is immediate; a habit is urgent
        # unless the sentence says now/tonight or the confinement is for days or overnight.
        ("pupil told me her dad locks her in her room", "urgent"),
        ("her dad has locked her in her room", "immediate"),
        ("she's locked in her room and can't get out", "immediate"),
        ("her dad locks her in her room and she's in there now", "immediate"),
        ("her dad locks her in her room overnight", "immediate"),
        ("she locks herself in her room to revise", "routine"),
    ],
)
def test_locked_in_now_is_immediate_a_habit_is_urgent(
    detector: Detector, text: str, expected: str
) -> None:
    assert level(detector, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("she ran away again", "urgent"),
        ("she's run away again", "immediate"),
        ("she ran away last night and hasn't come back", "immediate"),
        ("she's being taken abroad this summer", "urgent"),
        ("she's being taken abroad tonight", "immediate"),
        ("i saw bruises on her legs today", "urgent"),
        ("i saw her dad hit her this morning", "immediate"),
        ("lead not responding who now", "routine"),
        ("she's not responding and her lips are blue", "immediate"),
        ("i'll finish it after my session", "routine"),
        ("he says he'll end it tonight", "immediate"),
        ("she shows signs of neglect", "urgent"),
        ("signs of trafficking", "routine"),
        ("signs of abuse: he has a knife", "immediate"),
        ("signs of abuse she has a knife", "immediate"),
        ("signs that he is being groomed", "urgent"),
    ],
)
def test_issue_5_look_alikes_both_ways(detector: Detector, text: str, expected: str) -> None:
    assert level(detector, text) == expected


def test_headings_are_guidance_only_through_guidance_opening(tmp_path: Path) -> None:
    """Without the guidance_opening list the menu text would page a lead (the issue-5 bug)."""
    path = write_rules(tmp_path, lambda data: data.pop("guidance_opening"))
    without = Detector(load_rules(path))
    assert without.assess("signs of trafficking").urgency == "immediate"
    assert assess("signs of trafficking").urgency == "routine"
