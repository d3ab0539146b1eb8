#include "pool.hpp"

#include <algorithm>
#include <cstdio>

#include "problem.hpp"
#include "statement.hpp"

namespace family::web {

namespace {

bool retryable(const std::string& sqlstate) {
    return sqlstate == "40001" || sqlstate == "40P01";
}

}  // namespace

Pool::Pool(std::string dsn, std::size_t size, std::chrono::milliseconds wait)
    : dsn_(std::move(dsn)), size_(size), wait_(wait) {}

Pool::~Pool() = default;

std::unique_ptr<pqxx::connection> Pool::acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (idle_.empty() && open_ >= size_) {
        ++waits_;
        if (!freed_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; })) {
            ++timeouts_;
            throw unavailable("All database connections are busy; retry.");
        }
    }
    ++in_use_;
    if (!idle_.empty()) {
        std::unique_ptr<pqxx::connection> c = std::move(idle_.back());
        idle_.pop_back();
        busy_.push_back(c.get());
        return c;
    }
    ++open_;
    lock.unlock();
    try {
        auto c = std::make_unique<pqxx::connection>(dsn_);
        for (const Statement* s : Statement::all()) c->prepare(s->name(), s->sql());
        lock.lock();
        busy_.push_back(c.get());
        return c;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "family-web: cannot connect to the database: %s\n", e.what());
        lock.lock();
        --open_;
        --in_use_;
        ++connect_failures_;
        freed_.notify_one();
        throw unavailable("The database is unavailable; retry.");
    }
}

void Pool::release(std::unique_ptr<pqxx::connection> c, pqxx::connection* raw) {
    std::lock_guard<std::mutex> lock(mutex_);
    busy_.erase(std::find(busy_.begin(), busy_.end(), raw));
    --in_use_;
    if (c && c->is_open())
        idle_.push_back(std::move(c));
    else
        --open_;
    freed_.notify_one();
}

void Pool::transact(const std::function<void(pqxx::work&)>& body) {
    for (int attempt = 1;; ++attempt) {
        std::unique_ptr<pqxx::connection> c = acquire();
        pqxx::connection* raw = c.get();
        std::string sqlstate;
        try {
            pqxx::work txn(*c);
            body(txn);
            txn.commit();
            release(std::move(c), raw);
            return;
        } catch (const pqxx::broken_connection&) {
            // The server went away: release() drops a closed connection, and
            // the next attempt opens a fresh one.
            sqlstate = "08006";
        } catch (const pqxx::transaction_rollback&) {
            sqlstate = "40001";  // libpqxx 6 reports 40001 and 40P01 without an SQLSTATE
        } catch (const pqxx::sql_error& e) {
            sqlstate = e.sqlstate();
            if (!retryable(sqlstate) && from_sqlstate(sqlstate).status == 500)
                std::fprintf(stderr, "family-web: database error %s: %s\n", sqlstate.c_str(),
                             e.what());
        } catch (const pqxx::in_doubt_error&) {  // LCOV_EXCL_START: lost during COMMIT itself
            release(nullptr, raw);
            throw unavailable("The connection broke during commit; the change may have happened.");
        }  // LCOV_EXCL_STOP
        catch (...) {
            release(std::move(c), raw);
            throw;
        }
        release(std::move(c), raw);
        if (attempt == 3 || !(retryable(sqlstate) || sqlstate == "08006"))
            throw from_sqlstate(sqlstate);
        std::lock_guard<std::mutex> lock(mutex_);
        ++retries_;
    }
}

void Pool::cancel_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (pqxx::connection* c : busy_) c->cancel_query();
}

PoolStats Pool::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {size_, open_, in_use_, waits_, timeouts_, connect_failures_, retries_};
}

std::string with_params(std::string dsn,
                        std::initializer_list<std::pair<const char*, const char*>> params) {
    bool uri = dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
    for (const auto& [key, value] : params) {
        if (uri)
            dsn += dsn.find('?') == std::string::npos ? "?" : "&";
        else if (!dsn.empty())
            dsn += " ";
        dsn += std::string(key) + "=" + value;
    }
    return dsn;
}

}  // namespace family::web
