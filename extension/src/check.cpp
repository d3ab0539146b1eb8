#include "check.hpp"

#include <algorithm>
#include <cstdio>

namespace family::check {

namespace {
std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string optional_number(const std::optional<double>& v) {
    return v ? number(*v) : "null";
}

std::string list(const std::vector<double>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + number(values[i]);
    return out + "}";
}

std::string id_or_null(const std::optional<PersonId>& id) {
    return id ? std::to_string(*id) : "null";
}

void check_parent(const StoredPerson& p, const char* role, const std::optional<PersonId>& parent,
                  const std::optional<int>& rank, const StoredParent* row,
                  std::vector<Finding>& out) {
    if (parent && !row)
        out.push_back({p.id, std::string("missing_") + role,
                       "person " + std::to_string(*parent) + " exists",
                       std::string("no such person (") + role + "_id)"});
    if (parent.has_value() != rank.has_value())
        out.push_back({p.id, std::string(role) + "_rank_pairing",
                       std::string(role) + "_rank present exactly when " + role + "_id is",
                       std::string(role) + "_id " + id_or_null(parent) + ", " + role + "_rank " +
                           (rank ? std::to_string(*rank) : "null")});
}

std::optional<ParentView> view(const std::optional<PersonId>& parent,
                               const std::optional<int>& rank, const StoredParent* row) {
    if (!parent || !rank || !row) return std::nullopt;
    return ParentView{*rank, row->generation, &row->ranks};
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return buf;
}

// Left-aligned column of a fixed width.
std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

void field(std::string& out, const char* name, const std::string& value) {
    if (value.empty()) return;
    out += "    " + pad(name, 11);
    // Continuation lines of a multi-line value stay under the first.
    for (char c : value) {
        out += c;
        if (c == '\n') out += std::string(15, ' ');
    }
    out += "\n";
}
}  // namespace

std::int64_t slice_size(std::int64_t span, int workers) {
    return std::clamp<std::int64_t>(span / (std::max(workers, 1) * 16), 1000, 10000);
}

std::string run_status(const RunReport& r) {
    return !r.errors.empty() ? "failed" : r.findings_total ? "findings" : "clean";
}

std::string format_ranks(const RankVector& r) {
    return list(r.sums) + "/" + list(r.counts);
}

void check_person(const StoredPerson& p, std::vector<Finding>& out) {
    check_parent(p, "father", p.father, p.father_rank, p.father_row, out);
    check_parent(p, "mother", p.mother, p.mother_rank, p.mother_row, out);
    if (!p.couple)
        out.push_back({p.id, "couple",
                       "a relationship between " + std::to_string(*p.father) + " and " +
                           std::to_string(*p.mother),
                       "none"});
    Derived d = derive(view(p.father, p.father_rank, p.father_row),
                       view(p.mother, p.mother_rank, p.mother_row));
    if (d.generation != p.generation)
        out.push_back(
            {p.id, "generation", std::to_string(d.generation), std::to_string(p.generation)});
    if (d.ranks != p.ranks)
        out.push_back({p.id, "link_vectors", format_ranks(d.ranks), format_ranks(p.ranks)});
    std::optional<double> rank = ancestor_rank(d.ranks);
    if (rank != p.rank)
        out.push_back({p.id, "ancestor_rank", optional_number(rank), optional_number(p.rank)});
}

void check_relationships(const std::vector<StoredRelationship>& slice,
                         const std::set<PersonId>& existing,
                         const std::map<PersonId, std::vector<std::int64_t>>& current,
                         std::vector<Finding>& out) {
    for (const StoredRelationship& r : slice)
        for (PersonId p : {r.a, r.b}) {
            if (!existing.count(p))
                out.push_back({p, "relationship_person",
                               "person " + std::to_string(p) + " of relationship " +
                                   std::to_string(r.id) + " exists",
                               "no such person", r.id});
            auto it = current.find(p);
            if (!r.current || it == current.end() || it->second.size() < 2 ||
                it->second.front() != r.id)
                continue;
            std::string ids;
            for (std::int64_t id : it->second) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
            out.push_back({p, "current_relationships", "at most one current relationship",
                           "current relationships " + ids, r.id});
        }
}

std::string report_subject(const RunReport& r) {
    std::string s = "[family] consistency check run " + std::to_string(r.run_id) + " on " +
                    r.database + ": " + r.status;
    if (r.findings_total) s += ", " + std::to_string(r.findings_total) + " findings";
    if (!r.errors.empty()) s += ", " + std::to_string(r.errors.size()) + " errors";
    return s;
}

std::string report_body(const RunReport& r) {
    std::string out;
    out += "Consistency check run " + std::to_string(r.run_id) + " on database " + r.database +
           ": " + r.status + "\n\n";
    out += pad("started", 18) + r.started_at + "\n";
    out += pad("finished", 18) + r.finished_at + " (" + seconds(r.seconds) + " s)\n";
    out += pad("persons checked", 18) + std::to_string(r.persons) + "\n";
    out += pad("relationships", 18) + std::to_string(r.relationships) + " checked\n";
    out += pad("findings", 18) + std::to_string(r.findings_total) + "\n";
    out += pad("workers", 18) + std::to_string(r.workers.size()) + " of " +
           std::to_string(r.workers_requested) + " requested\n";
    if (!r.note.empty()) out += "note: " + r.note + "\n";

    out += "\nWorkers (times in seconds from the start of the run)\n";
    out += "  " + pad("#", 4) + pad("pid", 9) + pad("start", 9) + pad("end", 9) +
           pad("persons", 10) + pad("slices", 8) + pad("findings", 10) + "status\n";
    for (const WorkerReport& w : r.workers)
        out += "  " + pad(std::to_string(w.number), 4) + pad(std::to_string(w.pid), 9) +
               pad(seconds(w.started), 9) + pad(seconds(w.finished), 9) +
               pad(std::to_string(w.persons), 10) + pad(std::to_string(w.slices), 8) +
               pad(std::to_string(w.findings), 10) + w.status + "\n";

    if (r.findings_total) {
        out += "\nFindings (" +
               (static_cast<std::int64_t>(r.findings.size()) < r.findings_total
                    ? "the first " + std::to_string(r.findings.size()) + " of "
                    : std::string()) +
               std::to_string(r.findings_total) +
               "; all in family.check_finding where run_id = " + std::to_string(r.run_id) + ")\n";
        for (const Finding& f : r.findings)
            out += "  person " + pad(std::to_string(f.person), 10) + pad(f.kind, 16) + "expected " +
                   f.expected + "\n" + std::string(35, ' ') + "actual   " + f.actual + "\n";
        out +=
            "\nTo fix the derived values: SELECT family.repair(); then check again with\n"
            "SELECT family.run_consistency_check();  (missing_*, *_rank_pairing, couple,\n"
            "cycle and relationship findings are data that repair() cannot guess: fix\n"
            "those rows first.)\n";
    }

    if (!r.errors.empty()) {
        out += "\nErrors\n";
        for (const ErrorReport& e : r.errors) {
            out += "  " + e.where + "\n";
            field(out, "SQLSTATE", e.sqlstate);
            field(out, "message", e.message);
            field(out, "detail", e.detail);
            field(out, "context", e.context);
            field(out, "exception", e.exception_type);
            field(out, "stack", e.stack_trace);
        }
    }
    return out;
}

}  // namespace family::check
