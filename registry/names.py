"""Given and family names for synthetic travellers (`registry.seed`).

Common English-Canadian and French-Canadian names, so demo lists, exports and French
alerts look like the registry they stand in for. No real person is described: names are
combined at random with example.org addresses and fictional 555-01xx numbers.
"""
from __future__ import annotations

ENGLISH_GIVEN = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
    "Andrew", "Joshua", "Kevin", "Brian", "George", "Timothy", "Ryan", "Jason", "Jeffrey",
    "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott",
    "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Patrick", "Jack", "Dennis",
    "Tyler", "Aaron", "Adam", "Nathan", "Liam", "Noah", "Owen", "Ethan", "Logan", "Lucas",
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna",
    "Brenda", "Emma", "Olivia", "Ava", "Charlotte", "Amelia", "Sophia", "Hannah", "Chloe",
    "Grace", "Abigail", "Madison", "Megan",
)

FRENCH_GIVEN = (
    "Jean", "Pierre", "Michel", "André", "Jacques", "Marc", "Luc", "François", "Louis",
    "Alain", "Claude", "Gilles", "Guy", "Denis", "Daniel", "Réjean", "Sylvain", "Stéphane",
    "Martin", "Mathieu", "Sébastien", "Éric", "Patrick", "Yves", "Normand", "Gaétan",
    "Benoît", "Simon", "Philippe", "Olivier", "Nicolas", "Alexandre", "Maxime", "Samuel",
    "Gabriel", "William", "Félix", "Antoine", "Thomas", "Raphaël", "Émile", "Jérémie",
    "Vincent", "Julien", "Frédéric", "Guillaume", "Hugo", "Xavier", "Étienne", "Charles",
    "Marie", "Julie", "Isabelle", "Nathalie", "Sophie", "Chantal", "Sylvie", "Louise",
    "Lucie", "Josée", "Diane", "Manon", "Caroline", "Mélanie", "Geneviève", "Valérie",
    "Catherine", "Annie", "Karine", "Marie-Ève", "Véronique", "Audrey", "Émilie", "Camille",
    "Léa", "Chloé", "Rosalie", "Florence", "Alice", "Béatrice", "Juliette", "Laurence",
    "Noémie", "Anne-Marie", "Marie-Claude", "France", "Francine", "Ginette", "Hélène",
    "Danielle", "Monique", "Johanne", "Line", "Élise", "Maude", "Mégane", "Sarah-Maude",
    "Jade", "Zoé", "Clara",
)

ENGLISH_FAMILY = (
    "Smith", "Brown", "Wilson", "Taylor", "Johnson", "MacDonald", "Campbell", "Anderson",
    "Jones", "Williams", "Thompson", "Martin", "White", "Stewart", "Young", "Scott", "Wright",
    "Clark", "Walker", "Robinson", "Mitchell", "Miller", "Thomson", "Reid", "Ross", "Murray",
    "Graham", "Hall", "Green", "King", "Moore", "Wood", "Lewis", "Harris", "Baker", "Allen",
    "Hill", "Davis", "Evans", "Fraser", "Kelly", "Morrison", "Hughes", "Turner", "Cameron",
    "Ferguson", "Hamilton", "Bell", "Russell", "Kennedy", "Murphy", "Cook", "Ward", "Morgan",
    "Cooper", "Phillips", "Parker", "Edwards", "Collins", "Watson", "Bennett", "Gray",
    "Sutherland", "MacKenzie", "McLean", "Grant", "Davidson", "Henderson", "Ryan", "Walsh",
    "O'Brien", "Sullivan", "Gordon", "Johnston", "Chen", "Wong", "Lee", "Li", "Singh",
    "Patel", "Nguyen", "Kim", "Lam", "Gill", "Sandhu", "Hunter", "Armstrong", "Marshall",
    "Kerr", "Simpson", "Matthews", "Richardson", "Fisher", "Cunningham", "Bishop", "Hart",
    "Lawson", "Doyle", "McKay", "Burns",
)

FRENCH_FAMILY = (
    "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie",
    "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc",
    "Paquette", "Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé",
    "Poirier", "Fournier", "Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault",
    "St-Pierre", "Nadeau", "Martin", "Landry", "Martel", "Bédard", "Grenier", "Lessard",
    "Bernier", "Richard", "Michaud", "Hébert", "Desjardins", "Couture", "Turcotte",
    "Lachance", "Parent", "Blais", "Gosselin", "Savard", "Proulx", "Beaudoin", "Demers",
    "Perreault", "Boudreau", "Lemieux", "Cyr", "Perron", "Dufour", "Dion", "Mercier",
    "Bolduc", "Bérubé", "Boisvert", "Langlois", "Ménard", "Therrien", "Plante", "Bilodeau",
    "Blanchette", "Dubois", "Champagne", "Paradis", "Fontaine", "Lemay", "Vachon", "Lalonde",
    "Arsenault", "Robichaud", "Cormier", "Gingras", "Tardif", "Rousseau", "Deschênes",
    "Leduc", "Charbonneau", "Brassard", "Chabot", "Lacroix", "Lebel", "Vaillancourt",
    "Guay", "Marcoux", "Breton", "Drouin", "Lapierre", "Giroux", "Labelle", "Séguin",
)

# Area codes in service in Canada; with 555-0100..0199 (reserved as fictional) they make
# numbers that `phonenumbers` accepts and that ring no one.
CANADIAN_AREA_CODES = (
    "204", "226", "236", "249", "250", "289", "306", "343", "365", "403", "416", "418",
    "431", "437", "438", "450", "506", "514", "519", "548", "579", "581", "587", "604",
    "613", "639", "647", "705", "709", "778", "780", "782", "807", "819", "825", "867",
    "873", "902", "905",
)

EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")
