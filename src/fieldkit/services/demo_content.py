"""Deterministic, fictitious Swedish case content for the demo and the benchmarks.

Everything here is invented: names are drawn from common Swedish first names and surnames,
personnummer are generated (valid check digit, serial numbers in the 98xx range) and belong
to nobody we know of; note texts describe ordinary outreach work in general terms. The same
seed always gives the same content, so benchmark runs are comparable.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from stdnum import luhn

from fieldkit.domain.enums import CaseType, ContactType, ProtectedIdentity

FIRST_NAMES = (
    "Alva",
    "Elsa",
    "Maja",
    "Wilma",
    "Saga",
    "Ebba",
    "Nora",
    "Amira",
    "Leila",
    "Hanna",
    "Noah",
    "William",
    "Hugo",
    "Liam",
    "Elias",
    "Adam",
    "Omar",
    "Yusuf",
    "Ali",
    "Ibrahim",
    "Oskar",
    "Viktor",
    "Måns",
    "Jonatan",
    "Felix",
    "Isak",
    "Sami",
    "Emir",
    "Filip",
    "Albin",
    "Ida",
    "Tilda",
    "Selma",
    "Aisha",
    "Sara",
    "Yasmin",
    "Lova",
    "Tindra",
    "Ronja",
    "Julia",
)
SURNAMES = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Lindberg",
    "Lindqvist",
    "Hassan",
    "Mohamed",
    "Ahmed",
    "Ali",
    "Yilmaz",
    "Nordström",
    "Åberg",
    "Öberg",
    "Björk",
    "Sjöberg",
    "Holmström",
    "Ekström",
    "Lundgren",
    "Bergström",
    "Jovanović",
    "Kovač",
)
DISTRICTS = (
    "Rinkeby-Kista",
    "Spånga-Tensta",
    "Hässelby-Vällingby",
    "Bromma",
    "Kungsholmen",
    "Norrmalm",
    "Östermalm",
    "Södermalm",
    "Enskede-Årsta-Vantör",
    "Skarpnäck",
    "Farsta",
    "Älvsjö",
    "Hägersten-Liljeholmen",
    "Skärholmen",
)
STREETS = ("Rinkebystråket", "Tensta allé", "Hornsgatan", "Götgatan", "Vällingbyplan")
PLACES = (
    "fritidsgården",
    "skolgården",
    "tunnelbanestationen",
    "centrumtorget",
    "biblioteket",
    "idrottsplatsen",
    "mötesplatsen för unga",
    "socialkontoret",
    "ungdomsmottagningen",
    "fotbollsplanen",
    "kaféet vid torget",
    "bollplanen bakom skolan",
    "köpcentrumet",
)
OPENINGS = (
    "Träffade {first} på {place} tillsammans med en kollega.",
    "Planerat samtal med {first} på {place}.",
    "{first} sökte själv kontakt och vi sågs på {place}.",
    "Uppsökande arbete i {district}. Mötte {first} på {place}.",
    "Telefonsamtal med vårdnadshavare till {first}.",
    "Samverkansmöte med skolans elevhälsa om {first}.",
)
MIDDLES = (
    "{first} berättade att det varit tungt i skolan den senaste tiden och att frånvaron ökat.",
    "Vi pratade om vännerna och om vad {first} gör på kvällarna; {first} var öppen och lugn.",
    "{first} visade klipp från ett forum och vi samtalade om vad budskapen gör med en.",
    "{first} uttryckte tvivel om gruppen och sa att det blivit svårare att säga nej.",
    "Vårdnadshavaren är orolig för att {first} dragit sig undan familjen och gamla kompisar.",
    "{first} har börjat träna igen på klubben och beskriver tränaren som en viktig vuxen.",
    "Vi gick igenom överenskommelsen från förra mötet; {first} har hållit det mesta.",
    "{first} är nyfiken på sommarjobb och vi bokade tid hos arbetsmarknadsenheten.",
    "Samtalet handlade om hur {first} hanterar konflikter när känslorna blir starka.",
    "{first} nämnde att äldre personer i området hör av sig ofta och ställer krav.",
    "Skolan beskriver en förbättring: {first} är i tid och deltar mer på lektionerna.",
    "{first} berättade om en kusin som lämnat en liknande miljö och om hur det gått.",
    "Vi pratade om nätet, om algoritmer och om att ta pauser från vissa kanaler.",
    "Informerade om möjligheten till mentor och om vad samtycke till SSPF innebär.",
)
CLOSINGS = (
    "Nästa träff bokad om en vecka på samma plats.",
    "Vi kom överens om att höras per telefon på fredag.",
    "Gruppledaren informerad enligt rutin.",
    "Följer upp med skolan och vårdnadshavare efter samtycke.",
    "Ingen omedelbar oro; fortsatt kontakt enligt plan.",
    "{first} vill gärna fortsätta träffas; ny tid bokas via sms.",
)
SUMMARIES = {
    CaseType.INDIVIDUAL_AT_RISK: "Oro för påverkan från våldsbejakande miljö, främst via nätet.",
    CaseType.EXIT_SUPPORT: "Stöd att lämna våldsbejakande miljö; personen har själv sökt hjälp.",
    CaseType.RELATIVE_SUPPORT: "Anhörigstöd till förälder som oroar sig för sitt barn.",
    CaseType.CONSULTATION: "Skolan har begärt konsultation om en elev som uttryckt hot i klassen.",
}


@dataclass(frozen=True)
class DemoPerson:
    name: str
    first: str
    personnummer: str | None
    protected_identity: ProtectedIdentity
    address: str | None
    district: str


def personnummer(rng: random.Random, born_from: int = 2004, born_to: int = 2012) -> str:
    """A generated personnummer with a valid check digit and a 98xx serial."""
    start = dt.date(born_from, 1, 1).toordinal()
    end = dt.date(born_to, 12, 31).toordinal()
    born = dt.date.fromordinal(rng.randint(start, end))
    serial = f"98{rng.randint(0, 9)}"
    body = f"{born:%y%m%d}{serial}"
    return f"{born:%Y%m%d}-{serial}{luhn.calc_check_digit(body)}"


def person(rng: random.Random) -> DemoPerson:
    first = rng.choice(FIRST_NAMES)
    name = f"{first} {rng.choice(SURNAMES)}"
    roll = rng.random()
    protected = (
        ProtectedIdentity.PROTECTED_REGISTRATION
        if roll < 0.04
        else ProtectedIdentity.CONFIDENTIALITY_MARKING
        if roll < 0.10
        else ProtectedIdentity.NONE
    )
    district = rng.choice(DISTRICTS)
    street = rng.choice(STREETS)
    address = f"{street} {rng.randint(1, 120)}, Stockholm"
    return DemoPerson(
        name=name,
        first=first,
        personnummer=personnummer(rng) if rng.random() < 0.85 else None,
        protected_identity=protected,
        address=address,
        district=district,
    )


def note_text(rng: random.Random, first: str, district: str, target_chars: int = 600) -> str:
    """A journal text of roughly ``target_chars`` characters (never shorter than a sentence)."""
    fill = {"first": first, "district": district, "place": rng.choice(PLACES)}
    parts = [rng.choice(OPENINGS).format(**fill)]
    while sum(len(p) + 1 for p in parts) < target_chars - 60:
        parts.append(rng.choice(MIDDLES).format(**fill))
    parts.append(rng.choice(CLOSINGS).format(**fill))
    return " ".join(parts)


def contact_type(rng: random.Random) -> ContactType:
    return rng.choices(
        (
            ContactType.VISIT,
            ContactType.OUTREACH,
            ContactType.PHONE,
            ContactType.DIGITAL,
            ContactType.MEETING,
        ),
        weights=(4, 3, 2, 1, 1),
    )[0]


def case_type(rng: random.Random) -> CaseType:
    return rng.choices(tuple(SUMMARIES), weights=(5, 2, 2, 1))[0]


def summary(kind: CaseType) -> str:
    return SUMMARIES[kind]
