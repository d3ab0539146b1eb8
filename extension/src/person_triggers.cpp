// Triggers on family.person: the derived values of a written row (BEFORE),
// their propagation to descendants (AFTER UPDATE), and unlinking the
// children of a deleted person (AFTER DELETE).
//
// Concurrency: a row's derived values are computed from its parents read
// FOR SHARE, and a propagation locks every person it revisits FOR NO KEY
// UPDATE before reading it. A writer and a reader of the same parent thus
// serialize; at READ COMMITTED the later one reads the latest version, at
// REPEATABLE READ / SERIALIZABLE PostgreSQL raises 40001 on such a row. What
// a row lock cannot show an old snapshot is a child added concurrently: the
// children of a changed person are therefore also read on a fresh snapshot
// and any difference raises 40001. Cycles: a new parent that descends from
// the person raises that person's generation, and the propagation then
// reaches the person itself (see README, "No cycles").
#include <algorithm>
#include <unordered_map>

#include "pg.hpp"

namespace family::pg {
namespace {

// Attribute numbers of family.person, looked up by name.
struct PersonColumns {
    int id, father_id, mother_id, father_rank, mother_rank, generation, rank, sums, counts,
        updated_at;
    explicit PersonColumns(TupleDesc d)
        : id(SPI_fnumber(d, "id")),
          father_id(SPI_fnumber(d, "father_id")),
          mother_id(SPI_fnumber(d, "mother_id")),
          father_rank(SPI_fnumber(d, "father_rank")),
          mother_rank(SPI_fnumber(d, "mother_rank")),
          generation(SPI_fnumber(d, "generation")),
          rank(SPI_fnumber(d, "ancestor_relationship_rank")),
          sums(SPI_fnumber(d, "link_rank_sums")),
          counts(SPI_fnumber(d, "link_counts")),
          updated_at(SPI_fnumber(d, "updated_at")) {}
};

std::optional<int64> attr_int(HeapTuple t, TupleDesc d, int col) {
    bool isnull = false;
    Datum v = heap_getattr(t, col, d, &isnull);
    if (isnull) return std::nullopt;
    return TupleDescAttr(d, col - 1)->atttypid == INT2OID ? DatumGetInt16(v) : DatumGetInt64(v);
}

bool attr_null(HeapTuple t, TupleDesc d, int col) {
    bool isnull = false;
    heap_getattr(t, col, d, &isnull);
    return isnull;
}

bool attr_same(HeapTuple a, HeapTuple b, TupleDesc d, int col) {
    bool an = false, bn = false;
    Datum av = heap_getattr(a, col, d, &an), bv = heap_getattr(b, col, d, &bn);
    if (an || bn) return an == bn;
    Form_pg_attribute att = TupleDescAttr(d, col - 1);
    bool same = false;
    guard([&] { same = datum_image_eq(av, bv, att->attbyval, att->attlen); });
    return same;
}

std::string person(int64 id) {
    return "person " + std::to_string(id);
}

// A person's parent links as written in a row.
struct RowLinks {
    int64 id;
    std::optional<int64> father, mother, father_rank, mother_rank;
};

RowLinks read_links(HeapTuple t, TupleDesc d, const PersonColumns& c) {
    return {*attr_int(t, d, c.id), attr_int(t, d, c.father_id), attr_int(t, d, c.mother_id),
            attr_int(t, d, c.father_rank), attr_int(t, d, c.mother_rank)};
}

void check_rank(const RowLinks& r, const char* role, const std::optional<int64>& parent,
                const std::optional<int64>& rank) {
    std::string column = std::string(role) + "_rank";
    if (parent && !rank)
        fail("23514", person(r.id) + ": " + role + " " + std::to_string(*parent) + " needs a " +
                          column + " (1..5)");
    if (!parent && rank)
        fail("23514", person(r.id) + ": " + column + " " + std::to_string(*rank) +
                          " given without a " + role + "_id");
    if (rank && (*rank < 1 || *rank > 5))
        fail("23514",
             person(r.id) + ": " + column + " " + std::to_string(*rank) + " is out of range 1..5");
}

void validate(const RowLinks& r) {
    for (const auto& [role, parent] :
         {std::pair{"father", r.father}, std::pair{"mother", r.mother}})
        if (parent && *parent == r.id) fail("23514", person(r.id) + " cannot be their own " + role);
    if (r.father && r.mother && *r.father == *r.mother)
        fail("23514",
             person(r.id) + ": father and mother are the same person " + std::to_string(*r.father));
    check_rank(r, "father", r.father, r.father_rank);
    check_rank(r, "mother", r.mother, r.mother_rank);
}

struct ParentRow {
    int generation;
    RankVector ranks;
};

// Reads the given persons' derived values, locking them FOR SHARE.
std::unordered_map<int64, ParentRow> read_parents(const std::vector<int64>& ids) {
    static Statement q(
        "SELECT id, generation, link_rank_sums, link_counts FROM family.person"
        " WHERE id = ANY($1) FOR SHARE",
        {INT8ARRAYOID});
    std::unordered_map<int64, ParentRow> out;
    uint64 n = q.run({int64_array(ids)});
    for (uint64 i = 0; i < n; ++i)
        out[*col_int64(i, 1)] = {static_cast<int>(*col_int64(i, 2)), col_ranks(i, 3, 4)};
    return out;
}

std::optional<ParentView> view(const std::unordered_map<int64, ParentRow>& parents,
                               const std::optional<int64>& id, const std::optional<int64>& rank) {
    if (!id) return std::nullopt;
    const ParentRow& p = parents.at(*id);
    return ParentView{static_cast<int>(*rank), p.generation, &p.ranks};
}

void check_couple(const RowLinks& r) {
    static Statement q(
        "SELECT 1 FROM family.relationship"
        " WHERE (person_a = $1 AND person_b = $2) OR (person_a = $2 AND person_b = $1)"
        " LIMIT 1 FOR KEY SHARE",
        {INT8OID, INT8OID});
    if (q.run({Int64GetDatum(*r.father), Int64GetDatum(*r.mother)}) == 0)
        fail("FA002",
             person(r.id) + ": father " + std::to_string(*r.father) + " and mother " +
                 std::to_string(*r.mother) + " are not a couple",
             "Only people in a relationship can have children: start a relationship between "
             "them first.");
}

// The derived values of a row about to be written, from its parents.
Derived derive_row(const RowLinks& r) {
    std::vector<int64> ids;
    for (const auto& p : {r.father, r.mother})
        if (p) ids.push_back(*p);
    if (ids.empty()) return Derived{};
    std::unordered_map<int64, ParentRow> parents = read_parents(ids);
    for (const auto& [role, p] : {std::pair{"father", r.father}, std::pair{"mother", r.mother}})
        if (p && !parents.count(*p))
            fail("23503",
                 person(r.id) + ": " + role + " " + std::to_string(*p) + " does not exist");
    return derive(view(parents, r.father, r.father_rank), view(parents, r.mother, r.mother_rank));
}

void reject_derived_write(int64 id, const char* column) {
    fail("428C9", person(id) + ": column " + std::string(column) + " is derived and cannot be set",
         "generation, ancestor_relationship_rank, link_rank_sums and link_counts are kept by "
         "the extension from the parent links and ranks.");
}

// Returns the row to store, allocated in the caller's memory context.
HeapTuple before_write(TriggerData* td) {
    bool insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
    HeapTuple row = insert ? td->tg_trigtuple : td->tg_newtuple;
    if (internal_write_in_progress()) return row;
    TupleDesc d = td->tg_relation->rd_att;
    PersonColumns c(d);
    RowLinks links = read_links(row, d, c);
    static const std::pair<const char*, int PersonColumns::*> derived_columns[] = {
        {"generation", &PersonColumns::generation},
        {"ancestor_relationship_rank", &PersonColumns::rank},
        {"link_rank_sums", &PersonColumns::sums},
        {"link_counts", &PersonColumns::counts}};
    for (const auto& [name, col] : derived_columns)
        if (insert ? !attr_null(row, d, c.*col) : !attr_same(td->tg_trigtuple, row, d, c.*col))
            reject_derived_write(links.id, name);

    std::optional<Derived> derived;
    if (insert || !attr_same(td->tg_trigtuple, row, d, c.father_id) ||
        !attr_same(td->tg_trigtuple, row, d, c.mother_id) ||
        !attr_same(td->tg_trigtuple, row, d, c.father_rank) ||
        !attr_same(td->tg_trigtuple, row, d, c.mother_rank)) {
        validate(links);
        spi_connect();
        derived = derive_row(links);
        bool parents_changed = insert || !attr_same(td->tg_trigtuple, row, d, c.father_id) ||
                               !attr_same(td->tg_trigtuple, row, d, c.mother_id);
        if (links.father && links.mother && parents_changed) check_couple(links);
        spi_finish();
    }

    std::vector<int> cols;
    std::vector<Datum> values;
    std::vector<char> nulls;  // bool-sized flags for heap_modify_tuple_by_cols
    auto set = [&](int col, Datum v, bool isnull) {
        cols.push_back(col);
        values.push_back(v);
        nulls.push_back(isnull);
    };
    if (!insert)
        set(c.updated_at, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false);
    if (derived) {
        std::optional<double> rank = ancestor_rank(derived->ranks);
        set(c.generation, Int32GetDatum(derived->generation), false);
        set(c.rank, Float8GetDatum(rank.value_or(0)), !rank);
        set(c.sums, float8_array(derived->ranks.sums), false);
        set(c.counts, float8_array(derived->ranks.counts), false);
    }
    if (cols.empty()) return row;
    HeapTuple out = nullptr;
    guard([&] {
        out = heap_modify_tuple_by_cols(row, d, static_cast<int>(cols.size()), cols.data(),
                                        values.data(), reinterpret_cast<bool*>(nulls.data()));
    });
    return out;
}

// Children of the given persons with their stored generations. At REPEATABLE
// READ and SERIALIZABLE the set must not differ from the latest committed one.
std::vector<std::pair<int64, int>> children_of(const std::vector<int64>& ids) {
    static Statement q(
        "SELECT id, generation FROM family.person WHERE father_id = ANY($1) OR mother_id = ANY($1)"
        " ORDER BY id",
        {INT8ARRAYOID});
    Datum arg = int64_array(ids);
    std::vector<std::pair<int64, int>> out;
    uint64 n = q.run({arg});
    for (uint64 i = 0; i < n; ++i)
        out.emplace_back(*col_int64(i, 1), static_cast<int>(*col_int64(i, 2)));
    if (IsolationUsesXactSnapshot()) {
        uint64 latest = q.run({arg}, true);
        bool same = latest == n;
        for (uint64 i = 0; same && i < n; ++i) same = *col_int64(i, 1) == out[i].first;
        if (!same)
            fail("40001",
                 std::string("could not serialize access: the children of ") +
                     (ids.size() == 1 ? "person " : "persons ") + id_list(ids) +
                     " changed concurrently",
                 "Retry the transaction.");
    }
    return out;
}

void propagate(const RowLinks& root) {
    static Statement lock(
        "SELECT id, father_id, mother_id, father_rank, mother_rank, generation,"
        "       link_rank_sums, link_counts"
        "  FROM family.person WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        {INT8ARRAYOID});
    RevisitQueue queue;
    auto enqueue_children = [&](const std::vector<int64>& parents) {
        for (const auto& [child, generation] : children_of(parents)) {
            if (child == root.id) {
                // A revisited person lists root as a child: it is one of
                // root's parents and descends from root.
                int64 culprit = std::count(parents.begin(), parents.end(), root.father.value_or(0))
                                    ? *root.father
                                    : *root.mother;
                fail("FA001",
                     person(root.id) + " would become their own ancestor: parent " +
                         std::to_string(culprit) + " descends from " + person(root.id),
                     "A person cannot be a parent of one of their ancestors.");
            }
            queue.push(child, generation);
        }
    };
    enqueue_children({root.id});
    for (std::vector<int64> batch = queue.pop_batch(); !batch.empty(); batch = queue.pop_batch()) {
        uint64 n = lock.run({int64_array(batch)});
        std::vector<RowLinks> rows;
        std::vector<Derived> stored;
        std::vector<int64> parent_ids;
        for (uint64 i = 0; i < n; ++i) {
            RowLinks r{*col_int64(i, 1), col_int64(i, 2), col_int64(i, 3), col_int64(i, 4),
                       col_int64(i, 5)};
            for (const auto& p : {r.father, r.mother})
                if (p) parent_ids.push_back(*p);
            rows.push_back(r);
            stored.push_back({static_cast<int>(*col_int64(i, 6)), col_ranks(i, 7, 8)});
        }
        std::unordered_map<int64, ParentRow> parents = read_parents(parent_ids);
        DerivedBatch changed;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const RowLinks& r = rows[i];
            Derived d = derive(view(parents, r.father, r.father_rank),
                               view(parents, r.mother, r.mother_rank));
            if (d != stored[i]) changed.add(r.id, d);
        }
        if (changed.empty()) continue;
        changed.write();
        enqueue_children(changed.ids());
    }
}

void unlink_children(int64 id) {
    static Statement q(
        "UPDATE family.person"
        "   SET father_id = CASE WHEN father_id = $1 THEN NULL ELSE father_id END,"
        "       father_rank = CASE WHEN father_id = $1 THEN NULL ELSE father_rank END,"
        "       mother_id = CASE WHEN mother_id = $1 THEN NULL ELSE mother_id END,"
        "       mother_rank = CASE WHEN mother_id = $1 THEN NULL ELSE mother_rank END"
        " WHERE father_id = $1 OR mother_id = $1",
        {INT8OID});
    q.run({Int64GetDatum(id)});
}

// PostgreSQL calls a function declared RETURNS trigger only as a trigger.
TriggerData* trigger_data(FunctionCallInfo fcinfo) {
    return reinterpret_cast<TriggerData*>(fcinfo->context);
}

}  // namespace
}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_person_before_write);
PG_FUNCTION_INFO_V1(family_person_propagate);
PG_FUNCTION_INFO_V1(family_person_after_delete);

Datum family_person_before_write(PG_FUNCTION_ARGS) {
    return entry([&] { return PointerGetDatum(before_write(trigger_data(fcinfo))); });
}

Datum family_person_propagate(PG_FUNCTION_ARGS) {
    return entry([&] {
        TriggerData* td = trigger_data(fcinfo);
        if (!internal_write_in_progress()) {
            PersonColumns c(td->tg_relation->rd_att);
            spi_connect();
            propagate(read_links(td->tg_newtuple, td->tg_relation->rd_att, c));
            spi_finish();
        }
        return PointerGetDatum(nullptr);
    });
}

Datum family_person_after_delete(PG_FUNCTION_ARGS) {
    return entry([&] {
        TriggerData* td = trigger_data(fcinfo);
        PersonColumns c(td->tg_relation->rd_att);
        spi_connect();
        unlink_children(*attr_int(td->tg_trigtuple, td->tg_relation->rd_att, c.id));
        spi_finish();
        return PointerGetDatum(nullptr);
    });
}
}
