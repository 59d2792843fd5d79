//! The vocabulary of the demo: names, companies, places and phrases. Kept in
//! one place so that the catalogue reads as field definitions, not data.

/// Team members. The first 25 are the main demo org's roster in this order,
/// so its owner and admins are the same people in every demo; other orgs
/// draw 25 from the whole list. A few names are non-ASCII on purpose: the
/// timeline, search and avatars must cope with them.
pub const MEMBER_NAMES: &[&str] = &[
    "Olivia Bennett",
    "José Álvarez",
    "Zoë Müller",
    "Priya Raghunathan",
    "Marcus Webb",
    "Siobhán O'Connor",
    "Kenji Watanabe",
    "Amara Okafor",
    "Łukasz Wiśniewski",
    "Chloé Dubois",
    "Daniel Kim",
    "Björn Lindqvist",
    "Ana Luíza Costa",
    "Mohammed Al-Farsi",
    "Emily Carter",
    "Sophie Jansen",
    "Liam O'Brien",
    "Hannah Schmidt",
    "Rahul Mehta",
    "Grace Thompson",
    "Mateo Rossi",
    "Fatima Zahra Benali",
    "Noah Williams",
    "Ines Fernández",
    "Tomás Novák",
    "Yuki Tanaka",
    "Ella Fitzgerald-Hart",
    "Oskar Nowak",
    "Camille Laurent",
    "Arjun Nair",
    "Freya Hansen",
    "Lucas Oliveira",
    "Mei Chen",
    "Jonas Becker",
    "Aisha Bello",
    "Charlotte Evans",
    "Nikolai Petrov",
    "Léa Moreau",
    "Samuel Adeyemi",
    "Isabella García",
];

/// People outside the org: leads, client contacts, form submitters.
pub const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Ahmed", "Laura", "Pedro", "Ingrid", "Wei", "Anna", "Kofi", "Elena", "Thomas", "Sara",
    "Raj", "Julia", "Dmitri", "Nora", "Carlos", "Aoife", "Felix", "Maya", "Hugo", "Leila", "Oliver", "Renée",
    "Stefan", "Yasmin", "Ben", "Clara", "Diego", "Martina",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Patel",
    "Schneider",
    "Rossi",
    "Dubois",
    "de Vries",
    "Kowalski",
    "Silva",
    "Murphy",
    "Nguyen",
    "Andersson",
    "Khan",
    "Fischer",
    "Martin",
    "Hughes",
    "Costa",
    "Sato",
    "Brennan",
    "Ibrahim",
    "Walsh",
    "Lambert",
    "Meyer",
    "Gómez",
    "Horvat",
    "Clarke",
    "Lopes",
    "Nakamura",
    "Byrne",
    "Kaur",
];

pub const COMPANIES: &[&str] = &[
    "Northwind Traders",
    "Bluebird Analytics",
    "Fjord & Co",
    "Müller Maschinenbau",
    "Café Lumière",
    "Harbour Lane Dental",
    "Oakridge Property",
    "Greenleaf Organics",
    "Pixel Foundry",
    "Redwood Legal",
    "Summit Physio",
    "Brightside Events",
    "Copperfield Architects",
    "Lisbon Surf School",
    "Tidewater Logistics",
    "Saffron Kitchen",
    "Nordlicht Energie",
    "Atlas Fitness",
    "Maple & Finch",
    "Quayside Brewing",
    "Stellar Robotics",
    "Vantage Point Media",
    "Kingfisher Books",
    "Hollis & Grant",
    "Solaris Health",
    "Ironbridge Engineering",
    "Petal & Stem Florists",
    "Bergström Design",
    "Cobalt Security",
    "Meridian Travel",
    "Wildflower Yoga",
    "Orchard Lane Vets",
    "Bayview Hotels",
    "Riverstone Capital",
    "Lighthouse Charity Trust",
    "Papier & Co",
    "Evergreen Landscaping",
    "Crescent Moon Bakery",
    "Granite Peak Outdoors",
    "Velvet Room Studios",
    "São Bento Imports",
    "Alder Street Clinic",
    "Beacon Learning",
    "Foxglove Interiors",
    "Westbrook Motors",
    "Lumen Optics",
    "Driftwood Coffee",
    "Palisade Insurance",
    "Ember & Oak",
    "Kestrel Aviation",
];

pub const COMPANY_SUFFIXES: &[&str] = &["", "", "", " Ltd", " GmbH", " Inc.", " Group", " B.V.", " SAS"];

/// Org names for `demo_org(seed, index)`; index 0 is the main demo org.
pub const ORG_NAMES: &[(&str, &str)] = &[
    ("acme", "Acme Corp"),
    ("globex", "Globex Studio"),
    ("initech", "Initech Consulting"),
    ("umbrella", "Umbrella Health"),
    ("hooli", "Hooli Digital"),
    ("soylent", "Soylent Foods"),
    ("tyrell", "Tyrell Design"),
    ("wonka", "Wonka Events"),
    ("stark", "Stark Creative"),
    ("wayne", "Wayne Logistics"),
];

pub const INDUSTRIES: &[&str] = &[
    "hospitality",
    "healthcare",
    "retail",
    "manufacturing",
    "professional_services",
    "education",
    "real_estate",
    "nonprofit",
    "technology",
    "logistics",
];

pub const JOB_TITLES: &[&str] = &[
    "Managing Director",
    "Office Manager",
    "Head of Marketing",
    "Finance Director",
    "Operations Lead",
    "Founder",
    "Accounts Payable",
    "Product Owner",
    "Practice Manager",
    "Procurement Officer",
];

pub const TEAM_TITLES: &[&str] = &[
    "Founder",
    "Account Manager",
    "Senior Designer",
    "Designer",
    "Full-stack Developer",
    "Frontend Developer",
    "Project Manager",
    "Finance Lead",
    "Bookkeeper",
    "Copywriter",
    "Operations Manager",
    "Support Specialist",
];

pub const PROJECT_NAMES: &[&str] = &[
    "Website redesign",
    "Brand refresh",
    "Spring campaign",
    "Mobile app MVP",
    "Booking system integration",
    "SEO audit",
    "Annual report 2025",
    "Newsletter templates",
    "Office fit-out",
    "Product photography",
    "E-commerce migration",
    "Customer portal",
    "Trade show booth",
    "Video testimonials",
    "Accessibility review",
    "Menu and signage",
    "Onboarding videos",
    "Data warehouse setup",
    "Quarterly retainer",
    "Social media calendar",
];

pub const PROJECT_PHASES: &[&str] = &["", "", "", " – Phase 2", " – Phase 3", " (v2)", " – discovery"];

pub const TASK_VERBS: &[&str] = &[
    "Draft", "Review", "Update", "Fix", "Prepare", "Send", "Schedule", "Design", "Test", "Chase", "Approve",
    "Publish",
];

pub const TASK_OBJECTS: &[&str] = &[
    "homepage hero copy",
    "pricing page",
    "Q3 invoice batch",
    "onboarding checklist",
    "client feedback round 2",
    "logo variations",
    "contract renewal",
    "staging deploy",
    "kick-off agenda",
    "payment reminder emails",
    "photo shoot shot list",
    "broken links on blog",
    "cookie banner wording",
    "timesheets for March",
    "supplier quotes",
    "accessibility fixes",
    "newsletter draft",
    "login redirect bug",
    "project budget forecast",
    "handover documentation",
];

pub const TASK_LABELS: &[&str] = &["design", "dev", "copy", "billing", "client", "bug", "urgent", "internal"];

pub const PROJECT_TAGS: &[&str] = &["retainer", "fixed-price", "internal", "priority", "pro-bono", "hourly"];

pub const FILE_STEMS: &[&str] = &[
    "Q3-report",
    "brand-guidelines-v2",
    "contract-signed",
    "site-photos",
    "logo-final",
    "invoice-scan",
    "meeting-notes",
    "proposal-draft",
    "wireframes",
    "budget-2025",
    "receipt",
    "team-headshots",
    "moodboard",
    "sitemap",
    "NDA",
    "brief",
    "timesheet-march",
    "press-kit",
];

pub const FILE_EXTENSIONS: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("svg", "image/svg+xml"),
    ("zip", "application/zip"),
    ("csv", "text/csv"),
    ("fig", "application/octet-stream"),
];

pub const FOLDERS: &[&str] =
    &["/", "/Contracts", "/Invoices", "/Design", "/Photos", "/Reports", "/Proposals"];

pub const EXPENSES: &[(&str, &str)] = &[
    ("Figma subscription", "Figma"),
    ("Adobe Creative Cloud", "Adobe"),
    ("Train to Manchester", "Avanti West Coast"),
    ("Client lunch", "Dishoom"),
    ("Flight to Berlin", "Lufthansa"),
    ("Hotel – 2 nights", "Premier Inn"),
    ("Stock photos", "Unsplash+"),
    ("Printer paper and toner", "Viking"),
    ("USB-C monitor", "Dell"),
    ("Domain renewal", "Gandi"),
    ("Hosting – monthly", "Hetzner"),
    ("Conference ticket", "Web Summit"),
    ("Taxi to airport", "FREE NOW"),
    ("Coffee for workshop", "Pret A Manger"),
    ("Freelance illustrator", "Sofia Marques"),
];

pub const EXPENSE_CATEGORIES: &[&str] =
    &["software", "travel", "meals", "hardware", "office", "marketing", "subcontractors"];

pub const ROLE_NAMES: &[&str] = &[
    "Billing manager",
    "Project lead",
    "Support agent",
    "External accountant",
    "Read-only auditor",
    "Contractor",
    "Sales",
];

pub const ROLE_DESCRIPTIONS: &[&str] = &[
    "Can manage invoices, quotes and payments but not team settings.",
    "Full access to projects and tasks for assigned clients.",
    "Handles client questions; read access to billing.",
    "Read-only access to finances for the year-end audit.",
    "Limited access to the projects they are invited to.",
    "Can create leads and quotes; no access to expenses.",
];

pub const API_KEY_NAMES: &[&str] = &[
    "Reporting export",
    "Staging sync",
    "Data warehouse loader",
    "Mobile app backend",
    "Website contact form",
    "Monitoring probe",
];

pub const API_SCOPES: &[&str] = &[
    "events:read",
    "events:write",
    "invoices:read",
    "invoices:write",
    "clients:read",
    "files:write",
    "projects:read",
];

pub const CIDRS: &[&str] = &["10.0.0.0/8", "192.168.10.0/24", "81.2.69.0/24", "34.89.0.0/16"];

pub const DOMAIN_PREFIXES: &[&str] =
    &["portal", "clients", "billing", "files", "docs", "status", "app", "share", "invoices", "mail"];

pub const PAYMENT_ACCOUNTS: &[(&str, &str)] = &[
    ("Barclays Business ••4821", "bank"),
    ("HSBC Current ••1093", "bank"),
    ("Stripe (GBP)", "stripe"),
    ("Stripe (EUR)", "stripe"),
    ("PayPal Business", "paypal"),
    ("Wise EUR", "wise"),
    ("GoCardless Direct Debit", "gocardless"),
    ("Revolut Business ••7710", "bank"),
];

pub const FORMS: &[&str] =
    &["Contact us", "Project brief", "Onboarding questionnaire", "Support request", "Event registration"];

pub const REVISION_NOTES: &[&str] = &[
    "Please attach the signed brief.",
    "Budget range is missing.",
    "Can you add a company registration number?",
    "The phone number looks incomplete.",
    "Please describe the timeline in more detail.",
];

pub const TIMEZONES: &[&str] = &[
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Amsterdam",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Tokyo",
];

pub const LOCALES: &[&str] = &["en-GB", "en-US", "de-DE", "fr-FR", "nl-NL", "pt-BR", "hi-IN"];

pub const FONTS: &[&str] = &["Inter", "Source Sans 3", "IBM Plex Sans", "Lato", "Merriweather", "Poppins"];

pub const CSS_SNIPPETS: &[&str] = &[
    ".portal-header { border-bottom: 2px solid var(--brand); }",
    ".btn-primary { border-radius: 999px; }",
    "footer small { letter-spacing: 0.02em; }",
    ".invoice-total { font-weight: 700; }",
];

pub const PASSWORDS: &[&str] = &[
    "hunter2",
    "correct horse battery staple",
    "Tr0ub4dor&3",
    "Summer2025!",
    "letmein-please",
    "P@ssw0rd123",
];

/// Sentences for descriptions, notes and messages. Long text is built from
/// these and then edited a few words at a time, as people really edit.
pub const SENTENCES: &[&str] = &[
    "The client wants the new layout live before the spring campaign starts.",
    "We agreed to split the work into two milestones with separate invoices.",
    "Please double-check the VAT number before sending anything out.",
    "Photography is booked for the second week of the month.",
    "All copy needs sign-off from their marketing director.",
    "Hosting costs are passed through at cost with no markup.",
    "The previous agency left the repository in a messy state.",
    "Payment terms were extended to 45 days as a goodwill gesture.",
    "Budget is tight, so keep revisions to two rounds per deliverable.",
    "They prefer calls on Tuesday or Thursday mornings.",
    "Accessibility fixes are in scope and should be prioritised.",
    "Send the weekly status report every Friday afternoon.",
    "Legal has asked for a data processing agreement before kick-off.",
    "The logo files in the shared drive are outdated; use the new ones.",
    "Expect slower replies in August because of the holidays.",
    "Invoices must quote the purchase order number or they get rejected.",
    "The contact form currently sends leads to an unmonitored inbox.",
    "We will reuse the components from the previous project where possible.",
    "Travel to the client's office is billable at the standard day rate.",
    "Any change requests after sign-off are quoted separately.",
];

/// Word pairs for small edits inside long text: either word may become the
/// other, so repeated edits wander back and forth like real wording does.
/// Every sentence above contains at least one of them.
pub const WORD_SWAPS: &[(&str, &str)] = &[
    ("client", "customer"),
    ("spring", "summer"),
    ("two", "three"),
    ("milestones", "phases"),
    ("VAT", "company"),
    ("Photography", "Filming"),
    ("second", "third"),
    ("marketing", "finance"),
    ("director", "team"),
    ("Hosting", "Licence"),
    ("previous", "old"),
    ("repository", "codebase"),
    ("messy", "poor"),
    ("45", "60"),
    ("goodwill", "one-off"),
    ("tight", "limited"),
    ("Tuesday", "Wednesday"),
    ("mornings", "afternoons"),
    ("Accessibility", "Performance"),
    ("prioritised", "scheduled"),
    ("weekly", "monthly"),
    ("Friday", "Thursday"),
    ("Legal", "Procurement"),
    ("outdated", "obsolete"),
    ("August", "December"),
    ("rejected", "returned"),
    ("unmonitored", "unattended"),
    ("standard", "reduced"),
    ("separately", "individually"),
];

pub const LOGOS: &[&str] =
    &["logo.svg", "logo-dark.svg", "logo-2025.svg", "logo-horizontal.png", "logo-mark.png"];

/// (city, country, postcode pattern, streets). In patterns `#` is a digit and
/// `A` a capital letter; everything else is literal.
pub const CITIES: &[(&str, &str, &str, &[&str])] = &[
    ("London", "GB", "SW# #AA", &["Baker Street", "Old Street", "Shoreditch High Street"]),
    ("Leeds", "GB", "LS# #AA", &["Park Row", "Briggate", "Wellington Street"]),
    ("Manchester", "GB", "M## #AA", &["Deansgate", "Oxford Road", "Portland Street"]),
    ("New York", "US", "100##", &["Broadway", "Madison Avenue", "Canal Street"]),
    ("Austin", "US", "787##", &["Congress Avenue", "South Lamar Blvd", "East 6th Street"]),
    ("San Francisco", "US", "941##", &["Market Street", "Valencia Street", "Howard Street"]),
    ("Berlin", "DE", "10###", &["Friedrichstraße", "Torstraße", "Kastanienallee"]),
    ("München", "DE", "80###", &["Leopoldstraße", "Sendlinger Straße", "Maximilianstraße"]),
    ("Hamburg", "DE", "20###", &["Mönckebergstraße", "Schanzenstraße", "Große Elbstraße"]),
    ("Paris", "FR", "750##", &["Rue de Rivoli", "Boulevard Voltaire", "Rue Oberkampf"]),
    ("Lyon", "FR", "690##", &["Rue de la République", "Quai Saint-Antoine", "Cours Lafayette"]),
    ("Amsterdam", "NL", "10## AA", &["Keizersgracht", "Damrak", "Overtoom"]),
    ("Rotterdam", "NL", "30## AA", &["Coolsingel", "Witte de Withstraat", "Wilhelminakade"]),
    ("Bengaluru", "IN", "5600##", &["MG Road", "Brigade Road", "100 Feet Road"]),
    ("Mumbai", "IN", "4000##", &["Marine Drive", "Linking Road", "Hill Road"]),
    ("São Paulo", "BR", "01###-###", &["Avenida Paulista", "Rua Augusta", "Rua Oscar Freire"]),
    ("Rio de Janeiro", "BR", "22###-###", &["Avenida Atlântica", "Rua Visconde de Pirajá", "Rua do Ouvidor"]),
    ("Dublin", "IE", "D## A###", &["Grafton Street", "Dame Street", "Baggot Street"]),
    ("Kraków", "PL", "30-###", &["Floriańska", "Grodzka", "Długa"]),
];

/// Where people sign in from: country code and a few address prefixes.
pub const COUNTRY_NETWORKS: &[(&str, &[&str])] = &[
    ("GB", &["81.2.69", "86.134.12", "92.40.180", "2.24.61"]),
    ("US", &["73.162.44", "98.207.13", "24.5.118", "67.180.25"]),
    ("DE", &["84.160.93", "91.64.210", "178.24.7"]),
    ("FR", &["90.45.112", "82.64.19", "176.180.33"]),
    ("NL", &["145.53.82", "84.105.44", "77.170.8"]),
    ("IN", &["49.36.103", "106.51.72", "122.171.20"]),
    ("BR", &["177.37.140", "189.6.25", "201.17.94"]),
];

/// Rarely seen countries: travel, or someone trying a stolen password.
pub const UNUSUAL_NETWORKS: &[(&str, &[&str])] = &[
    ("RU", &["95.165.12", "178.176.40"]),
    ("NG", &["105.112.33", "197.210.55"]),
    ("VN", &["113.161.70", "14.232.18"]),
    ("KP", &["175.45.176"]),
];

/// (label shown as the session's name, user agent).
pub const BROWSERS: &[(&str, &str)] = &[
    (
        "Chrome on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "Safari on macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    ),
    ("Firefox on Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"),
    (
        "Edge on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
    ),
    (
        "Safari on iPhone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        "Chrome on macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "Chrome on Android",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    ),
    (
        "Firefox on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ),
];

/// Clients that show up in credential-stuffing attempts.
pub const SCRIPT_AGENTS: &[&str] = &["python-requests/2.32.3", "curl/8.7.1", "Go-http-client/2.0"];
