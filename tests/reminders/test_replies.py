"""Reading clients' SMS replies, in Spanish and English."""

from __future__ import annotations

import pytest

from reminders.replies import Intent, normalize_reply, parse_reply

TABLE = [
    # Confirmations
    ("1", Intent.CONFIRM),
    (" 1 ", Intent.CONFIRM),
    ("Sí", Intent.CONFIRM),
    ("si", Intent.CONFIRM),
    ("SI!", Intent.CONFIRM),
    ("sí, gracias", Intent.CONFIRM),
    ("Confirmo", Intent.CONFIRM),
    ("confirmar.", Intent.CONFIRM),
    ("Vale", Intent.CONFIRM),
    ("ok", Intent.CONFIRM),
    ("Yes", Intent.CONFIRM),
    ("y", Intent.CONFIRM),
    ("C", Intent.CONFIRM),
    ("Confirm", Intent.CONFIRM),
    ("confirmed, thanks!", Intent.CONFIRM),
    ("I'll be there", Intent.CONFIRM),
    # Cancellations
    ("2", Intent.CANCEL),
    ("No", Intent.CANCEL),
    ("no puedo", Intent.CANCEL),
    ("No puedo ir, lo siento", Intent.UNKNOWN),  # more than an answer: a person reads it
    ("ANULAR", Intent.CANCEL),
    ("anulo", Intent.CANCEL),
    ("Cancelar", Intent.CANCEL),
    ("can't", Intent.CANCEL),
    ("Can’t make it", Intent.CANCEL),
    ("cannot", Intent.CANCEL),
    ("no, gracias", Intent.CANCEL),
    # Twilio's opt-out keywords (Twilio has already blocked the sender)
    ("STOP", Intent.OPT_OUT),
    ("stop", Intent.OPT_OUT),
    ("Stop.", Intent.OPT_OUT),
    ("STOPALL", Intent.OPT_OUT),
    ("stop all", Intent.OPT_OUT),
    ("Unsubscribe", Intent.OPT_OUT),
    ("cancel", Intent.OPT_OUT),
    ("END", Intent.OPT_OUT),
    ("quit", Intent.OPT_OUT),
    ("revoke", Intent.OPT_OUT),
    ("OPTOUT", Intent.OPT_OUT),
    ("opt-out", Intent.OPT_OUT),
    # Spanish opt-outs Twilio does not know
    ("Baja", Intent.OPT_OUT),
    ("darme de baja", Intent.OPT_OUT),
    ("No más SMS", Intent.OPT_OUT),
    # Opt-in and help
    ("START", Intent.OPT_IN),
    ("unstop", Intent.OPT_IN),
    ("HELP", Intent.HELP),
    ("info", Intent.HELP),
    ("Ayuda", Intent.HELP),
    # Anything else is for a person
    ("", Intent.UNKNOWN),
    ("¿Puedo cambiar la hora?", Intent.UNKNOWN),
    ("Can I come at 5 instead?", Intent.UNKNOWN),
    ("no sé si puedo", Intent.UNKNOWN),
    ("3", Intent.UNKNOWN),
    ("👍", Intent.UNKNOWN),
    ("please stop", Intent.UNKNOWN),
]


@pytest.mark.parametrize(("body", "intent"), TABLE)
def test_it_reads_replies_in_both_languages(body: str, intent: Intent) -> None:
    assert parse_reply(body).intent == intent


def test_it_ignores_accents_case_punctuation_and_polite_words() -> None:
    assert normalize_reply("  ¡Sí, CONFÍRMO!! Muchas gracias. ") == "SI CONFIRMO"
    assert normalize_reply("Can't") == "CANT"


@pytest.mark.parametrize("word", ["STOP", "stopall", "UNSUBSCRIBE", "END", "QUIT", "REVOKE"])
def test_twilio_opt_out_words_are_marked_as_twilio_s(word: str) -> None:
    reply = parse_reply(word)
    assert reply.carrier_keyword and not reply.maybe_cancel


def test_cancel_is_an_opt_out_that_may_have_meant_the_appointment() -> None:
    reply = parse_reply("Cancel")
    assert reply.intent == Intent.OPT_OUT and reply.carrier_keyword and reply.maybe_cancel


def test_puntual_s_own_opt_out_words_are_answered_by_puntual() -> None:
    assert not parse_reply("baja").carrier_keyword


def test_a_polite_stop_is_respected_by_puntual_since_twilio_lets_it_through() -> None:
    reply = parse_reply("Stop, please")
    assert reply.intent == Intent.OPT_OUT and not reply.carrier_keyword
