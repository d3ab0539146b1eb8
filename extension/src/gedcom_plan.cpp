#include "gedcom_plan.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "rules.hpp"

namespace family::gedcom {

const char* severity_name(Severity s) {
    return s == Severity::Skipped ? "error" : "warning";
}

bool Instant::operator<(const Instant& o) const {
    if (!day || !o.day) return !day && o.day;
    auto key = [](const Instant& i) {
        return std::tuple(i.day->year, i.day->month, i.day->day, i.micros);
    };
    return key(*this) < key(o);
}

std::optional<std::int64_t> time_of_day(std::string_view t) {
    if (!t.empty() && t.back() == 'Z') t.remove_suffix(1);
    auto number = [&](std::size_t at, std::size_t n, int most) -> std::optional<int> {
        if (at + n > t.size()) return std::nullopt;
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (t[i] < '0' || t[i] > '9') return std::nullopt;
            v = v * 10 + (t[i] - '0');
        }
        if (v > most) return std::nullopt;
        return v;
    };
    // The hour has one or two digits.
    std::size_t colon = t.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 2) return std::nullopt;
    std::optional<int> h = number(0, colon, 23), m = number(colon + 1, 2, 59);
    if (!h || !m) return std::nullopt;
    std::int64_t micros = (*h * 60 + *m) * 60 * std::int64_t{1000000};
    std::size_t at = colon + 3;
    if (at == t.size()) return micros;
    std::optional<int> s = t[at] == ':' ? number(at + 1, 2, 59) : std::nullopt;
    if (!s) return std::nullopt;
    micros += *s * std::int64_t{1000000};
    at += 3;
    if (at == t.size()) return micros;
    if (t[at] != '.' || at + 1 == t.size()) return std::nullopt;
    std::int64_t scale = 100000;
    for (std::size_t i = at + 1; i < t.size(); ++i, scale /= 10) {
        if (t[i] < '0' || t[i] > '9') return std::nullopt;
        micros += (t[i] - '0') * scale;  // digits past the microsecond add 0
    }
    return micros;
}

namespace {

std::string at(const std::string& xref) {
    return "@" + xref + "@";
}

// A text the planner keeps until the plan is made (in its scratch pool), and
// its line (0: absent).
struct Kept {
    Text text;
    int line = 0;
    explicit operator bool() const { return line != 0; }
};

// A child's link to a family, as CHIL and FAMC lines write it.
struct Link {
    int child, family;
    int line;  // the first line that writes it
    Kept pedigree, father_rank, mother_rank;  // from FAMC
};

// What a FAM record is kept as: a million of them fit in little memory.
struct FamilyRecord {
    Kept xref;  // with the record's line
    Kept husband_xref, wife_xref;
    Kept marriage_date, marriage_time, divorce_date, divorce_time;
    bool divorced = false, current = false, parents_only = false;
    int husband = -1, wife = -1;  // persons, once resolved
};

// An INDI's FAMC, and a FAM's CHIL, until links are made of them.
struct ChildOfRecord {
    int child;
    Kept family, pedigree, father_rank, mother_rank;
};
struct ChildRecord {
    int family;
    Kept child;
};
// A link that cannot be made (a record missing, or written in a second
// record with a taken xref), by its xrefs.
struct LooseLink {
    std::string child, family;
    int line;
    std::string record;  // the xref of the record it is written in
    std::string message;
};

// Record indices by xref: open addressing over the xrefs already kept (a
// slot holds an index and its xref's hash, 8 bytes; no second copy of the
// xrefs). `key(i)` is record i's xref.
class XrefIndex {
  public:
    template <typename Key>
    int find(std::string_view xref, const Key& key) const {
        if (slots_.empty()) return -1;
        std::size_t h = std::hash<std::string_view>()(xref);
        for (std::size_t at = h & mask();; at = (at + 1) & mask()) {
            const Slot& s = slots_[at];
            if (s.index < 0 || (s.hash == static_cast<std::uint32_t>(h) && key(s.index) == xref))
                return s.index;
        }
    }
    // `xref` must not be in yet.
    template <typename Key>
    void insert(std::string_view xref, int index, const Key& key) {
        if ((count_ + 1) * 2 > slots_.size()) {
            std::vector<Slot> old(std::max<std::size_t>(16, slots_.size() * 2));
            old.swap(slots_);
            for (const Slot& s : old)
                if (s.index >= 0) place(key(s.index), s.index);
        }
        place(xref, index);
        ++count_;
    }

  private:
    struct Slot {
        int index = -1;  // -1: empty
        std::uint32_t hash = 0;
    };
    std::size_t mask() const { return slots_.size() - 1; }
    void place(std::string_view xref, int index) {
        std::size_t h = std::hash<std::string_view>()(xref);
        std::size_t at = h & mask();
        while (slots_[at].index >= 0) at = (at + 1) & mask();
        slots_[at] = {index, static_cast<std::uint32_t>(h)};
    }
    std::vector<Slot> slots_;  // a power of two, at most half full
    std::size_t count_ = 0;
};

class Planner {
  public:
    Planner(std::string_view file, int default_rank, const std::function<void()>& tick)
        : reader_(file), default_rank_(default_rank), tick_(tick) {
        plan_.header = reader_.header();
    }

    Plan run() {
        Record record;
        while (reader_.next(record)) {
            step();
            if (auto* p = std::get_if<Individual>(&record))
                add(std::move(*p));
            else
                add(std::get<Family>(record));
        }
        for (const Note& n : reader_.take_notes()) warn(n.line, n.xref, n.message);
        resolve_partners();
        resolve_links();
        order();
        relationships();
        finish();
        return std::move(plan_);
    }

  private:
    // Every few thousand records or steps, the caller's tick.
    void step() {
        if (tick_ && ++steps_ % 4096 == 0) tick_();
    }

    struct Frame {
        int person, next;  // next: 0 the father, 1 the mother, 2 placed
    };

    void issue(Severity s, int line, const std::string& xref, std::string message) {
        plan_.issues.push_back({line, xref, s, std::move(message)});
    }
    void skip(int line, const std::string& xref, std::string message) {
        issue(Severity::Skipped, line, xref, std::move(message));
    }
    void skip_link(int line, const std::string& xref, std::string message) {
        ++plan_.skipped_links;
        skip(line, xref, std::move(message));
    }
    void warn(int line, const std::string& xref, std::string message) {
        issue(Severity::Warning, line, xref, std::move(message));
    }

    static Text put(std::string& pool, std::string_view s) {
        Text t{static_cast<std::uint32_t>(pool.size()), static_cast<std::uint32_t>(s.size()), true};
        pool += s;
        return t;
    }
    Text keep(std::string_view s) { return put(plan_.pool, s); }
    Kept stash(std::string_view s, int line) { return {put(scratch_, s), line}; }
    Kept stash(const Field& f) { return f ? stash(f.value, f.line) : Kept{}; }
    std::string text(const Kept& k) const {
        return k ? scratch_.substr(k.text.offset, k.text.length) : std::string();
    }
    std::string xref_of(int person) const { return std::string(person_xref(person)); }
    std::string xref_of_family(int family) const { return std::string(family_xref(family)); }

    // A name or a place: left out when it breaks the text rule.
    Text text_field(const std::string& value, int line, const std::string& xref, const char* what,
                    bool always) {
        if (std::optional<std::string> why = rules::text_error(value)) {
            warn(line, xref, std::string(what) + " " + quoted(value) + " " + *why + ": left out");
            return always ? keep("") : Text{};
        }
        if (value.empty() && !always) return Text{};
        return keep(value);
    }

    Text date_field(const Field& f, const std::string& xref, const char* what) {
        if (!f) return Text{};
        if (std::optional<std::string> why = date_error(f.value)) {
            warn(f.line, xref, std::string(what) + " " + quoted(f.value) + " is not a GEDCOM date (" +
                                   *why + "): left out");
            return Text{};
        }
        return keep(f.value);
    }

    void add(Individual p) {
        ++plan_.individuals;
        if (!p.xref.empty()) {
            int first = person(p.xref);
            if (first >= 0) {
                ++plan_.skipped_individuals;
                skip(p.line, p.xref,
                     "a second INDI " + at(p.xref) + " (the first is at line " +
                         std::to_string(persons_[first].line) + "): not imported");
                for (const ChildOf& c : p.child_of)
                    loose_.push_back({p.xref, c.family, c.line, p.xref,
                                      "the link of a second INDI " + at(p.xref) + " to " +
                                          at(c.family) + ": not imported"});
                return;
            }
        }
        NewPerson n;
        int index = static_cast<int>(persons_.size());
        n.line = p.line;
        n.xref = p.xref.empty() ? Text{} : keep(p.xref);
        n.first_name = text_field(p.given, p.name_line, p.xref, "the given name", true);
        n.last_name = text_field(p.surname, p.name_line, p.xref, "the surname", true);
        if (p.sex && p.sex.value != "U" && !p.sex.value.empty()) {
            if (p.sex.value == "M" || p.sex.value == "F" || p.sex.value == "X")
                n.sex = keep(p.sex.value);
            else
                warn(p.sex.line, p.xref, "SEX " + quoted(p.sex.value) + " is not M, F, X or U: left out");
        }
        n.birth_date = date_field(p.birth.date, p.xref, "the birth date");
        n.death_date = date_field(p.death.date, p.xref, "the death date");
        if (p.birth.place)
            n.birth_place = text_field(p.birth.place.value, p.birth.place.line, p.xref, "the birth place", false);
        if (p.death.place)
            n.death_place = text_field(p.death.place.value, p.death.place.line, p.xref, "the death place", false);
        if (n.death_date.present) death_[index] = first_day(p.death.date.value);
        for (const ChildOf& c : p.child_of)
            famc_.push_back({index, stash(c.family, c.line),
                             c.pedigree.empty() ? Kept{} : stash(c.pedigree, c.line),
                             stash(c.father_rank), stash(c.mother_rank)});
        persons_.push_back(n);
        if (n.xref.present) person_of_.insert(p.xref, index, [this](int i) { return person_xref(i); });
    }

    void add(const Family& f) {
        int first = f.xref.empty() ? -1 : family(f.xref);
        if (first >= 0) {
            skip(f.line, f.xref,
                 "a second FAM " + at(f.xref) + " (the first is at line " +
                     std::to_string(families_[first].xref.line) + "): not imported");
            // Its children's links are links of the file too.
            for (const Pointer& c : f.children)
                loose_.push_back({c.xref, f.xref, c.line, f.xref,
                                  "the link of " + at(c.xref) + " to a second FAM " + at(f.xref) +
                                      ": not imported"});
            return;
        }
        int index = static_cast<int>(families_.size());
        for (const Pointer& c : f.children) chil_.push_back({index, stash(c.xref, c.line)});
        FamilyRecord r;
        r.xref = stash(f.xref, f.line);
        if (f.husband.line) r.husband_xref = stash(f.husband.xref, f.husband.line);
        if (f.wife.line) r.wife_xref = stash(f.wife.xref, f.wife.line);
        r.marriage_date = stash(f.marriage.date);
        r.marriage_time = stash(f.marriage.time);
        r.divorce_date = stash(f.divorce.date);
        r.divorce_time = stash(f.divorce.time);
        r.divorced = f.divorced;
        r.current = f.current;
        r.parents_only = f.parents_only;
        families_.push_back(r);
        if (!f.xref.empty()) family_of_.insert(f.xref, index, [this](int i) { return family_xref(i); });
    }

    std::string_view person_xref(int i) const {
        const Text& t = persons_[i].xref;
        return std::string_view(plan_.pool).substr(t.offset, t.length);
    }
    std::string_view family_xref(int i) const {
        const Text& t = families_[i].xref.text;
        return std::string_view(scratch_).substr(t.offset, t.length);
    }
    int person(std::string_view xref) const {
        return person_of_.find(xref, [this](int i) { return person_xref(i); });
    }
    int family(std::string_view xref) const {
        return family_of_.find(xref, [this](int i) { return family_xref(i); });
    }

    // HUSB and WIFE to persons: the father and mother of the family's children.
    void resolve_partners() {
        for (FamilyRecord& f : families_) {
            for (auto [pointer, role, tag] : {std::tuple{&f.husband_xref, &f.husband, "HUSB"},
                                              std::tuple{&f.wife_xref, &f.wife, "WIFE"}}) {
                if (!*pointer) continue;
                *role = person(text(*pointer));
                if (*role < 0)
                    warn(pointer->line, text(f.xref),
                         std::string(tag) + " " + at(text(*pointer)) + " is no INDI of the file: the family is read without it");
            }
            if (f.husband >= 0 && f.husband == f.wife) {
                warn(f.wife_xref.line, text(f.xref),
                     "HUSB and WIFE are the same person " + at(text(f.wife_xref)) + ": read as HUSB alone");
                f.wife = -1;
            }
        }
    }

    // Every child-family pair once; each child keeps its birth family.
    void resolve_links() {
        std::unordered_map<std::uint64_t, std::uint32_t> seen;  // (child, family) -> link
        seen.reserve(famc_.size() + chil_.size());
        auto link = [&](int child, int family, int line) -> Link* {
            std::uint64_t key = static_cast<std::uint64_t>(child) << 32 | static_cast<std::uint32_t>(family);
            auto [it, fresh] = seen.emplace(key, static_cast<std::uint32_t>(links_.size()));
            if (!fresh) return nullptr;
            if (links_.empty()) links_.reserve(famc_.size() + chil_.size());
            links_.push_back({child, family, line, {}, {}, {}});
            return &links_.back();
        };
        for (const ChildOfRecord& c : famc_) {
            int family = this->family(text(c.family));
            if (family < 0) {
                loose_.push_back({xref_of(c.child), text(c.family), c.family.line, xref_of(c.child),
                                  "FAMC " + at(text(c.family)) +
                                      " is no FAM of the file: the link is not imported"});
                continue;
            }
            if (Link* l = link(c.child, family, c.family.line)) {
                l->pedigree = c.pedigree;
                l->father_rank = c.father_rank;
                l->mother_rank = c.mother_rank;
            }
        }
        for (const ChildRecord& c : chil_) {
            int child = person(text(c.child));
            if (child < 0) {
                loose_.push_back({text(c.child), xref_of_family(c.family), c.child.line,
                                  xref_of_family(c.family),
                                  "CHIL " + at(text(c.child)) +
                                      " is no INDI of the file: the link is not imported"});
                continue;
            }
            link(child, c.family, c.child.line);
        }
        // Links that cannot be made, each pair of xrefs once, and not when
        // the same pair is a link made elsewhere in the file.
        std::set<std::pair<std::string, std::string>> counted;
        for (const LooseLink& l : loose_) {
            if (!counted.emplace(l.child, l.family).second) continue;
            int child = person(l.child), family = this->family(l.family);
            if (child >= 0 && family >= 0 &&
                seen.count(static_cast<std::uint64_t>(child) << 32 | static_cast<std::uint32_t>(family)))
                continue;
            ++plan_.links;
            skip_link(l.line, l.record, l.message);
        }
        decltype(loose_)().swap(loose_);
        decltype(seen)().swap(seen);
        decltype(famc_)().swap(famc_);
        decltype(chil_)().swap(chil_);
        plan_.links += static_cast<int>(links_.size());

        // A child's links in the order written; the birth one (PEDI BIRTH
        // or none) first, else the first one.
        std::vector<std::uint32_t> by_child(links_.size());
        for (std::size_t i = 0; i < links_.size(); ++i) by_child[i] = static_cast<std::uint32_t>(i);
        std::sort(by_child.begin(), by_child.end(), [&](std::uint32_t a, std::uint32_t b) {
            return std::pair(links_[a].child, links_[a].line) < std::pair(links_[b].child, links_[b].line);
        });
        chosen_.assign(persons_.size(), -1);
        auto birth = [&](std::uint32_t i) {
            std::string pedigree = text(links_[i].pedigree);
            return pedigree.empty() || pedigree == "BIRTH";
        };
        for (std::size_t from = 0; from < by_child.size();) {
            int child = links_[by_child[from]].child;
            std::size_t to = from;
            while (to < by_child.size() && links_[by_child[to]].child == child) ++to;
            auto first_birth = std::find_if(by_child.begin() + from, by_child.begin() + to, birth);
            std::uint32_t pick = first_birth == by_child.begin() + to ? by_child[from] : *first_birth;
            for (std::size_t k = from; k < to; ++k) {
                if (by_child[k] == pick) continue;
                const Link& l = links_[by_child[k]];
                std::string pedigree = text(l.pedigree);
                skip_link(l.line, xref_of(child),
                     "a second family of " + at(xref_of(child)) + ", " + at(xref_of_family(l.family)) +
                         (pedigree.empty() ? "" : " (" + pedigree + ")") +
                         ": a person has one father and one mother here, from " +
                         at(xref_of_family(links_[pick].family)) + "; not imported");
            }
            if (use(links_[pick])) chosen_[child] = static_cast<int>(pick);
            from = to;
        }
    }

    // Whether the chosen link can be imported: sets the child's parents.
    bool use(const Link& l) {
        const FamilyRecord& f = families_[l.family];
        NewPerson& child = persons_[l.child];
        std::string xref = xref_of(l.child);
        std::string family = at(text(f.xref));
        if (f.husband < 0 && f.wife < 0) {
            skip_link(l.line, xref, family + " has no HUSB or WIFE of the file: " + at(xref) + " gets no parents from it");
            return false;
        }
        if (f.husband == l.child || f.wife == l.child) {
            skip_link(l.line, xref, at(xref) + " would be their own parent in " + family + ": the link is not imported");
            return false;
        }
        auto rank = [&](const Kept& given, const char* tag, int& out) {
            if (!given) {
                out = default_rank_;
                return true;
            }
            std::string v = text(given);
            bool digit = v.size() == 1 && v[0] >= '0' && v[0] <= '9';
            if (!digit || !rules::rank_in_range(v[0] - '0')) {
                skip_link(given.line, xref, std::string(tag) + " " + quoted(v) + " is not a rank from " +
                                           std::to_string(rules::kLowestRank) + " to " +
                                           std::to_string(rules::kHighestRank) + ": the link to " +
                                           family + " is not imported");
                return false;
            }
            out = v[0] - '0';
            return true;
        };
        int father_rank = 0, mother_rank = 0;
        if ((f.husband >= 0 && !rank(l.father_rank, kFatherRankTag, father_rank)) ||
            (f.wife >= 0 && !rank(l.mother_rank, kMotherRankTag, mother_rank)))
            return false;
        child.father = f.husband;
        child.mother = f.wife;
        child.father_rank = f.husband >= 0 ? father_rank : 0;
        child.mother_rank = f.wife >= 0 ? mother_rank : 0;
        return true;
    }

    // Depth-first from each person up to their parents, in file order: a
    // link to a parent still on the path would close a loop and is skipped
    // (what is left has no loop); a person is placed after their parents.
    void order() {
        enum : char { kNew, kOnPath, kDone };
        std::vector<char> state(persons_.size(), kNew);
        order_.reserve(persons_.size());
        std::vector<Frame> path;
        for (int start = 0; start < static_cast<int>(persons_.size()); ++start) {
            step();
            if (state[start] != kNew) continue;
            path.push_back({start, 0});
            state[start] = kOnPath;
            while (!path.empty()) {
                Frame& top = path.back();
                NewPerson& p = persons_[top.person];
                if (top.next == 2) {
                    state[top.person] = kDone;
                    p.layer = 0;
                    for (int parent : {p.father, p.mother})
                        if (parent >= 0) p.layer = std::max(p.layer, persons_[parent].layer + 1);
                    order_.push_back(top.person);
                    path.pop_back();
                    continue;
                }
                int parent = top.next++ == 0 ? p.father : p.mother;
                if (parent < 0 || state[parent] == kDone) continue;
                if (state[parent] == kOnPath) {
                    loop(top.person, parent, path);
                    top.next = 0;  // the parents are gone: look again
                    continue;
                }
                state[parent] = kOnPath;
                path.push_back({parent, 0});
            }
        }
        for (int link : chosen_)
            if (link >= 0) ++plan_.parent_links;
    }

    // `child`'s link to `parent` closes a loop (parent is on the path below
    // child): the link goes.
    void loop(int child, int parent, const std::vector<Frame>& path) {
        std::string through;
        for (auto it = path.rbegin(); it != path.rend() && it->person != parent; ++it)
            if (it->person != child) through = " " + at(xref_of(it->person)) + through;
        const Link& l = links_[chosen_[child]];
        skip_link(l.line, xref_of(child),
             "a loop: " + at(xref_of(child)) + " would be their own ancestor (through " +
                 at(xref_of(parent)) + (through.empty() ? "" : "," + through) + "): the link to " +
                 at(xref_of_family(l.family)) + " is not imported");
        NewPerson& p = persons_[child];
        p.father = p.mother = -1;
        p.father_rank = p.mother_rank = 0;
        chosen_[child] = -1;
    }

    Instant instant(const Kept& date, const Kept& time, const std::string& xref, const char* what) {
        Instant i;
        if (!date) return i;
        std::string value = text(date);
        i.day = first_day(value);
        if (!i.day && date_error(value))
            warn(date.line, xref, std::string(what) + " date " + quoted(value) +
                                      " is not a GEDCOM date: taken as unknown");
        if (i.day && time) {
            if (std::optional<std::int64_t> t = time_of_day(text(time)))
                i.micros = *t;
            else
                warn(time.line, xref, "TIME " + quoted(text(time)) + " is not a time of day: left out");
        }
        return i;
    }

    // A relationship per family with two partners. It ends at its divorce,
    // else when either partner's next relationship starts or either dies,
    // whichever comes first; else it is current. Divorced on no known day,
    // it ends then, or when it started if that is unknown too. A family marked _CURRENT
    // (by export_gedcom) is current unless divorced; one marked
    // _PARENTS_ONLY has no relationship when another family of the same two
    // has one (else its children's parents would be no couple).
    void relationships() {
        struct Pending {
            NewRelationship r;
            const FamilyRecord* f;
            bool divorced;
            std::optional<Instant> divorce;  // with a known day
        };
        auto couple = [](const FamilyRecord& f) {
            return std::pair{std::min(f.husband, f.wife), std::max(f.husband, f.wife)};
        };
        std::set<std::pair<int, int>> couples;  // of the families with their own relationship
        for (const FamilyRecord& f : families_)
            if (f.husband >= 0 && f.wife >= 0 && !f.parents_only) couples.insert(couple(f));
        std::vector<Pending> all;
        for (const FamilyRecord& f : families_) {
            if (f.husband < 0 || f.wife < 0) continue;
            if (f.parents_only) {
                if (couples.count(couple(f))) continue;
                warn(f.xref.line, text(f.xref),
                     std::string(gedcom::kParentsOnlyTag) + ", but no other family of " +
                         at(xref_of(f.husband)) + " and " + at(xref_of(f.wife)) +
                         " makes them a couple: this one does");
            }
            Pending p{{}, &f, f.divorced, std::nullopt};
            p.r.a = f.husband;
            p.r.b = f.wife;
            std::string xref = text(f.xref);
            p.r.started = instant(f.marriage_date, f.marriage_time, xref, "MARR");
            if (f.divorced) {
                Instant d = instant(f.divorce_date, f.divorce_time, xref, "DIV");
                if (d.day) p.divorce = d;
            }
            all.push_back(p);
        }
        // Each person's relationships by start, then as written.
        std::unordered_map<int, std::vector<std::size_t>> of_person;
        for (std::size_t i = 0; i < all.size(); ++i)
            for (int partner : {all[i].r.a, all[i].r.b}) of_person[partner].push_back(i);
        // Where each relationship is in each partner's list.
        std::vector<std::array<std::size_t, 2>> place(all.size());
        for (auto& [person, list] : of_person) {
            std::stable_sort(list.begin(), list.end(), [&](std::size_t x, std::size_t y) {
                return all[x].r.started < all[y].r.started;
            });
            for (std::size_t k = 0; k < list.size(); ++k)
                place[list[k]][all[list[k]].r.a == person ? 0 : 1] = k;
        }
        for (std::size_t i = 0; i < all.size(); ++i) {
            step();
            Pending& p = all[i];
            std::optional<Instant> end = p.divorce;
            // Divorced, both times unknown: nothing to end it by but its
            // start (as export_gedcom writes a relationship of no known time).
            if (!end && p.divorced && !p.r.started.day) end = p.r.started;
            if (!end && !(p.f->current && !p.divorced)) {
                for (int side : {0, 1}) {
                    int partner = side == 0 ? p.r.a : p.r.b;
                    const auto& list = of_person[partner];
                    if (place[i][side] + 1 < list.size()) {
                        const Instant& next = all[list[place[i][side] + 1]].r.started;
                        if (!end || next < *end) end = next;
                    }
                    auto died = death_.find(partner);
                    if (died != death_.end() && died->second) {
                        Instant death{died->second, 0};
                        if (!end || death < *end) end = death;
                    }
                }
            }
            if (!end && p.divorced) end = p.r.started;  // divorced, when unknown
            if (end && *end < p.r.started) {
                warn(p.f->xref.line, text(p.f->xref),
                     "the relationship of " + at(xref_of(p.r.a)) + " and " + at(xref_of(p.r.b)) +
                         " would end before it starts: it ends when it starts");
                end = p.r.started;
            }
            p.r.ended = end;
        }
        // A person has one current relationship at most: only _CURRENT can
        // give them more, and then the latest to start stays current, the
        // others end when it starts.
        std::vector<std::size_t> current;
        for (auto& [person, list] : of_person) {
            current.clear();
            for (std::size_t i : list)
                if (!all[i].r.ended) current.push_back(i);
            for (std::size_t k = 0; k + 1 < current.size(); ++k) {
                Pending& p = all[current[k]];
                const Instant& next = all[current.back()].r.started;
                p.r.ended = next < p.r.started ? p.r.started : next;
                warn(p.f->xref.line, text(p.f->xref),
                     at(xref_of(person)) + " has a later current relationship: this one ends when it starts");
            }
        }
        for (const Pending& p : all) plan_.relationships.push_back(p.r);
    }

    // Persons by layer (stable), every index renumbered, in place (a second
    // copy of a million persons would double the plan's memory);
    // relationships by the larger layer of their partners.
    void finish() {
        decltype(links_)().swap(links_);
        decltype(families_)().swap(families_);
        decltype(scratch_)().swap(scratch_);
        std::stable_sort(order_.begin(), order_.end(),
                         [&](int a, int b) { return persons_[a].layer < persons_[b].layer; });
        std::vector<int> renumber(persons_.size());
        for (std::size_t i = 0; i < order_.size(); ++i) renumber[order_[i]] = static_cast<int>(i);
        for (NewRelationship& r : plan_.relationships) {
            r.layer = std::max(persons_[r.a].layer, persons_[r.b].layer);
            r.a = renumber[r.a];
            r.b = renumber[r.b];
        }
        for (NewPerson& p : persons_) {
            if (p.father >= 0) p.father = renumber[p.father];
            if (p.mother >= 0) p.mother = renumber[p.mother];
        }
        // Each person to its place, cycle by cycle: renumber[i] is where
        // the person now at i goes.
        for (std::size_t i = 0; i < persons_.size(); ++i)
            while (renumber[i] != static_cast<int>(i)) {
                int to = renumber[i];
                std::swap(persons_[i], persons_[to]);
                std::swap(renumber[i], renumber[to]);
            }
        plan_.persons = std::move(persons_);
        std::stable_sort(plan_.relationships.begin(), plan_.relationships.end(),
                         [](const NewRelationship& x, const NewRelationship& y) { return x.layer < y.layer; });
        std::stable_sort(plan_.issues.begin(), plan_.issues.end(),
                         [](const Issue& x, const Issue& y) { return x.line < y.line; });
    }

    Reader reader_;
    int default_rank_;
    const std::function<void()>& tick_;
    std::uint64_t steps_ = 0;
    Plan plan_;
    std::vector<NewPerson> persons_;  // as in the file
    XrefIndex person_of_, family_of_;
    std::unordered_map<int, std::optional<Day>> death_;
    std::vector<FamilyRecord> families_;
    std::vector<ChildOfRecord> famc_;
    std::vector<ChildRecord> chil_;
    std::vector<LooseLink> loose_;
    std::vector<Link> links_;
    std::string scratch_;  // the texts kept until the plan is made
    std::vector<int> chosen_;  // per person: its link, or -1
    std::vector<int> order_;   // persons, parents first
};

}  // namespace

Plan plan_import(std::string_view file, int default_rank, const std::function<void()>& tick) {
    return Planner(file, default_rank, tick).run();
}

}  // namespace family::gedcom
