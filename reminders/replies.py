"""What a client's SMS reply means. Pure: text in, intent out; no database, no Twilio.

Replies are compared after normalising: accents removed, upper case, punctuation turned into
spaces, apostrophes dropped ("can't" → "CANT"), spaces collapsed, and polite words at the end
dropped ("sí, gracias" → "SI"). Only whole replies match: "no sé si puedo" is not "NO".

Twilio's own keywords come first: Twilio has already acted on them (an opt-out word blocks
every further SMS to the sender) by the time the reply reaches Puntual, whatever Puntual
thinks the client meant. Twilio also treats YES as an opt-in word; Puntual reads it as
"confirm", which is what a client answering a reminder means, and Puntual's texts never
offer YES as an answer (they offer 1 and 2).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class Intent(enum.StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNKNOWN = "unknown"


# Twilio's default opt-out and opt-in keywords on long codes and toll-free numbers
# (https://help.twilio.com/articles/223134027). Twilio blocks or unblocks the sender itself.
TWILIO_OPT_OUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
TWILIO_OPT_IN = frozenset({"START", "UNSTOP"})

CONFIRM = frozenset(
    {
        "1",
        "SI",
        "CONFIRMO",
        "CONFIRMAR",
        "CONFIRMADO",
        "CONFIRMADA",
        "SI CONFIRMO",
        "OK",
        "VALE",
        "SI VOY",
        "VOY",
        "ALLI ESTARE",
        "YES",
        "Y",
        "C",
        "CONFIRM",
        "CONFIRMED",
        "YES CONFIRM",
        "I WILL BE THERE",
        "ILL BE THERE",
        "SEE YOU",
    }
)
CANCEL = frozenset(
    {
        "2",
        "NO",
        "N",
        "NO PUEDO",
        "NO PUEDO IR",
        "NO VOY",
        "NO IRE",
        "ANULAR",
        "ANULO",
        "ANULA",
        "ANULADA",
        "CANCELAR",
        "CANCELO",
        "CANCELA",
        "CANCELADA",
        "CANT",
        "CANNOT",
        "CAN NOT",
        "CANT COME",
        "CANNOT COME",
        "CANT MAKE IT",
        "CANNOT MAKE IT",
        "I CANT",
        "I CANNOT",
        "I CANT COME",
        "I CANT MAKE IT",
        "NOT COMING",
    }
)
# Opt-outs Twilio does not know: Puntual respects them (no more SMS) and says so itself.
OPT_OUT = frozenset({"BAJA", "DAR DE BAJA", "DARME DE BAJA", "NO MAS SMS", "NO MAS MENSAJES"})
HELP = frozenset({"HELP", "INFO", "AYUDA"})

POLITE = frozenset({"GRACIAS", "MUCHAS GRACIAS", "POR FAVOR", "THANKS", "THANK YOU", "PLEASE"})

_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_WORD = re.compile(r"[^0-9A-Z]+")


@dataclass(frozen=True)
class Reply:
    intent: Intent
    # True when Twilio itself acted on the reply (blocked or unblocked the sender) and sends
    # its own answer: Puntual then answers nothing (an opted-out number receives nothing).
    carrier_keyword: bool = False
    # A Twilio opt-out word that may also have meant "cancel my appointment" (CANCEL).
    maybe_cancel: bool = False


def _plain(body: str) -> str:
    text = unicodedata.normalize("NFKD", body or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    text = _APOSTROPHES.sub("", text)
    return _NOT_WORD.sub(" ", text).strip()


def normalize_reply(body: str) -> str:
    """Upper case, no accents, no punctuation, single spaces, no polite words at the end."""
    text = _plain(body)
    for _ in range(2):  # "sí, gracias, muchas gracias"
        for polite in sorted(POLITE, key=len, reverse=True):
            if text != polite and text.endswith(" " + polite):
                text = text.removesuffix(" " + polite).strip()
                break
    return text


def parse_reply(body: str) -> Reply:
    """The intent of a client's SMS reply."""
    # Twilio acts only on a reply that is nothing but the keyword.
    alone = _plain(body).replace(" ", "")
    if alone in TWILIO_OPT_OUT:
        return Reply(Intent.OPT_OUT, carrier_keyword=True, maybe_cancel=alone == "CANCEL")
    if alone in TWILIO_OPT_IN:
        return Reply(Intent.OPT_IN, carrier_keyword=True)
    text = normalize_reply(body)
    if text in OPT_OUT or text.replace(" ", "") in TWILIO_OPT_OUT:
        # "Stop, please": Twilio let it through, Puntual respects it and says so itself.
        return Reply(Intent.OPT_OUT, maybe_cancel=text == "CANCEL")
    if text in HELP:
        return Reply(Intent.HELP)
    if text in CONFIRM:
        return Reply(Intent.CONFIRM)
    if text in CANCEL:
        return Reply(Intent.CANCEL)
    return Reply(Intent.UNKNOWN)
