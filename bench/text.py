"""Deterministic, realistic-looking text for the benchmark workload.

Prose is drawn word by word from a Zipf-weighted vocabulary (common English words, domain
words, and a long tail of made-up names and codes), so it compresses about as well as real
chat text does (zlib: roughly 2.5-3.5x), not like a repeated character. Sentences are made
once into a large pool and texts are random runs of them: a 4 KB text picks ~30 sentences
out of tens of thousands, so neither one value nor a 32 KB gzip window sees repeats that real
text would not have.
"""

from __future__ import annotations

import json
import random
from itertools import accumulate

COMMON_WORDS = """
the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by not word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so
these her long make thing see him two has look more day could go come did number sound no
most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say help low line
differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big high
such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found
answer school grow study still learn plant cover food sun four between state keep eye never
last let thought city tree cross farm hard start might story saw far sea draw left late run
while press close night real life few north open seem together next white children begin got
walk example ease paper group always music those both mark often letter until mile river car
feet care second book carry took science eat room friend began idea fish mountain stop once
base hear horse cut sure watch color face wood main enough plain girl usual young ready above
ever red list though feel talk bird soon body dog family direct pose leave song measure door
product black short numeral class wind question happen complete ship area half rock order fire
south problem piece told knew pass since top whole king space heard best hour better true
during hundred five remember step early hold west ground interest reach fast verb sing listen
six table travel less morning ten simple several vowel toward war lay against pattern slow
center love person money serve appear road map rain rule govern pull cold notice voice unit
power town fine certain fly fall lead cry dark machine note wait plan figure star box noun
field rest correct able pound done beauty drive stood contain front teach week final gave
green oh quick develop ocean warm free minute strong special mind behind clear tail produce
fact street inch multiply nothing course stay wheel full force blue object decide surface deep
moon island foot system busy test record boat common gold possible plane stead dry wonder
laugh thousand ago ran check game shape equate hot miss brought heat snow tire bring yes
distant fill east paint language among
""".split()
DOMAIN_WORDS = """
account invoice refund order shipment delivery customer agent policy subscription plan
billing payment card charge balance warranty return exchange ticket escalation support
product inventory warehouse tracking carrier address region tax discount coupon loyalty
tier upgrade downgrade cancel renewal contract clause document section paragraph summary
retrieval context embedding vector index query result score ranking model response token
latency timeout retry error exception database cache request endpoint service deployment
configuration parameter setting feature release version migration schema record field
""".split()
SYLLABLES = """
ka lo mi ra te su vo ni pe da ze ro li ma tu ne so vi ba go re fa lu ki po de sa mo
ti na ve xo ly qu an el or is un ar en ex ol st tr pl cr gr br
""".split()
PUNCTUATION = (".", ".", ".", ".", "?", "!", ",")
TAIL_WORDS = 3000
SENTENCE_POOL = 40_000
ZIPF_EXPONENT = 1.05


class TextSource:
    """Seeded prose: sentences, paragraphs, and texts of about a given length."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.vocabulary = _vocabulary(self.random)
        weights = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(self.vocabulary))]
        self._cumulative = list(accumulate(weights))
        self.sentences = [self._sentence() for _ in range(SENTENCE_POOL)]

    def _sentence(self) -> str:
        words = self.random.choices(
            self.vocabulary, cum_weights=self._cumulative, k=self.random.randint(6, 28)
        )
        if self.random.random() < 0.3:
            words.insert(self.random.randrange(len(words)), str(self.random.randint(2, 99_999)))
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.random.choice(PUNCTUATION[:-1])

    def text(self, size: int) -> str:
        """About `size` characters of prose in paragraphs."""
        pieces: list[str] = []
        length = 0
        while length < size:
            sentence = self.random.choice(self.sentences)
            separator = "\n\n" if self.random.random() < 0.12 else " "
            pieces.append(sentence)
            pieces.append(separator)
            length += len(sentence) + len(separator)
        return "".join(pieces).strip()

    def around(self, mean: int) -> int:
        """A size near `mean` (from half to one and a half times it)."""
        return self.random.randint(mean // 2, mean * 3 // 2)

    def record(self, fields: int) -> dict[str, object]:
        """A JSON-able tool result record with ids, numbers and short prose."""
        rng = self.random
        return {
            "id": f"{rng.choice(DOMAIN_WORDS)}-{rng.randint(100_000, 999_999)}",
            "status": rng.choice(("open", "closed", "pending", "shipped", "refunded")),
            "amount": round(rng.uniform(1, 5000), 2),
            "updated_at": f"2026-0{rng.randint(1, 9)}-{rng.randint(10, 28)}T"
            f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:00Z",
            **{
                f"{rng.choice(DOMAIN_WORDS)}_{i}": self.text(rng.randint(40, 160))
                for i in range(fields)
            },
        }

    def json_records(self, size: int) -> str:
        records: list[dict[str, object]] = []
        length = 0
        while length < size:
            record = self.record(self.random.randint(1, 4))
            records.append(record)
            length += len(json.dumps(record))
        return json.dumps({"results": records}, ensure_ascii=False)


def _vocabulary(rng: random.Random) -> list[str]:
    head = COMMON_WORDS[:120]
    middle = COMMON_WORDS[120:] + DOMAIN_WORDS
    rng.shuffle(middle)
    tail = {_made_up_word(rng) for _ in range(TAIL_WORDS)}
    return head + middle + sorted(tail)


def _made_up_word(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return word.capitalize() if rng.random() < 0.2 else word
