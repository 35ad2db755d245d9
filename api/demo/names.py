"""Names for the demo school: learners, teachers, courses, modules, so dashboards look like a real school."""

from __future__ import annotations

import itertools
import random

FIRST_NAMES = (
    "Amara", "Mateo", "Yuki", "Olivia", "Arjun", "Sofia", "Kwame", "Lena", "Diego", "Mei",
    "Noah", "Fatima", "Lucas", "Aisha", "Hiroshi", "Emma", "Ravi", "Chloe", "Tariq", "Ingrid",
    "Santiago", "Priya", "Jonas", "Zainab", "Elijah", "Camila", "Kenji", "Nadia", "Oscar", "Leila",
    "Mohammed", "Hannah", "Thiago", "Anika", "Samuel", "Yara", "Felix", "Esperanza", "Dmitri", "Grace",
    "Kofi", "Isabella", "Min-jun", "Freya", "Omar", "Valentina", "Aarav", "Maya", "Luca", "Nia",
    "Sebastian", "Ayumi", "Tomás", "Zara", "Nikolai", "Abena", "Julien", "Ximena", "Hamza", "Astrid",
    "Daniel", "Mariam", "Rafael", "Keiko", "Adebayo", "Clara", "Ibrahim", "Elif", "Mikael", "Lucía",
    "Chen", "Amelia", "Emre", "Saanvi", "Oliver", "Imani", "Pablo", "Sakura", "Nathan", "Ana",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "García", "Tanaka", "Schmidt", "Patel", "Rossi", "Mensah", "Johansson", "Hernández", "Wang",
    "Smith", "Haddad", "Silva", "Khan", "Nakamura", "Dubois", "Sharma", "Martin", "Rahman", "Larsen",
    "López", "Iyer", "Becker", "Abdullah", "Brown", "Fernández", "Sato", "Kowalski", "Novak", "Ahmadi",
    "Nguyen", "O'Brien", "Costa", "Mehta", "Murphy", "Alvarez", "Kim", "Petrov", "Adeyemi", "Müller",
    "Lee", "Santos", "Yilmaz", "Andersen", "Chowdhury", "Moreau", "Park", "Ivanova", "Boateng", "Rinaldi",
    "Zhang", "Castillo", "Watanabe", "Nowak", "Osei", "Fischer", "Reyes", "Gupta", "Jensen", "Ali",
    "Kariuki", "Romero", "Hoffmann", "Suzuki", "Mahmoud", "Walsh", "Torres", "Lindqvist", "Das", "Baptiste",
)  # fmt: skip
EDUCATORS = ("Ms. Grace Adeyemi", "Mr. Tomás Herrera", "Dr. Keiko Watanabe", "Mr. Daniel Fischer")
ADMIN = "Priya Raman"
COURSES = {
    "math": (
        "Algebra I",
        "Mathematics",
        (
            "Expressions and Variables",
            "Linear Equations",
            "Inequalities",
            "Functions and Graphs",
            "Systems of Equations",
            "Exponents and Radicals",
            "Polynomials",
            "Factoring",
            "Quadratic Equations",
            "Data and Statistics",
        ),
    ),
    "science": (
        "Biology",
        "Science",
        (
            "The Living Cell",
            "Cell Division",
            "Genetics and Heredity",
            "DNA and Proteins",
            "Evolution",
            "Ecosystems",
            "Human Body Systems",
            "Plants and Photosynthesis",
            "Microorganisms",
            "Biochemistry Basics",
        ),
    ),
}
FIRST_PERIOD = {"math": 1, "science": 5}  # Algebra I in periods 1-4, Biology in periods 5-8


def learner_names(count: int, seed: int) -> list[str]:
    """`count` distinct full names, the same for the same seed (a middle initial once pairs run out)."""
    pairs = list(itertools.product(FIRST_NAMES, LAST_NAMES))
    random.Random(f"names-{seed}").shuffle(pairs)
    names = []
    for n in range(count):
        first, last = pairs[n % len(pairs)]
        initial = "" if n < len(pairs) else f" {chr(ord('A') + (n // len(pairs) - 1) % 26)}."
        names.append(f"{first}{initial} {last}")
    return names


def section_name(key: str, group: int) -> str:
    """ "Algebra I — Period 2": the course and the period the group meets."""
    return f"{COURSES[key][0]} — Period {FIRST_PERIOD[key] + group}"


def skill_name(key: str, module_index: int) -> str:
    """A skill slug per module, e.g. "algebra-i-linear-equations"."""
    course, _, modules = COURSES[key]
    return f"{course}-{modules[module_index]}".lower().replace(" ", "-")
