// The service's connections to the database: a pool (as the non-superuser
// role family_web, every Statement prepared on each), transactions with
// retries, and the one place where database exceptions become Problems.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace family::web {

struct PoolStats {
    std::size_t size = 0, open = 0, in_use = 0;
    std::uint64_t waits = 0, timeouts = 0, connect_failures = 0, retries = 0;
};

class Pool {
  public:
    // At most `size` connections, opened on demand; a request waits at most
    // `wait` for one (then 503).
    Pool(std::string dsn, std::size_t size, std::chrono::milliseconds wait);
    ~Pool();

    // Runs body in a READ COMMITTED transaction and commits. A serialization
    // failure, a deadlock, or a connection found broken (the server
    // restarted) runs it again on a fresh connection, up to three times in
    // all. Database errors leave as Problems (see problem.hpp).
    void transact(const std::function<void(pqxx::work&)>& body);
    PoolStats stats() const;
    // Cancels the statement running on every connection in use (shutdown:
    // the requests still running at the deadline get 503).
    void cancel_all();

  private:
    std::unique_ptr<pqxx::connection> acquire();
    void release(std::unique_ptr<pqxx::connection> c, pqxx::connection* raw);

    const std::string dsn_;
    const std::size_t size_;
    const std::chrono::milliseconds wait_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    std::vector<pqxx::connection*> busy_;  // handed out, owned by transact()
    std::size_t open_ = 0, in_use_ = 0;
    std::uint64_t waits_ = 0, timeouts_ = 0, connect_failures_ = 0, retries_ = 0;
};

// A libpq connection string with more parameters, in whichever of the two
// forms (keyword=value or a postgres:// URI) it has.
std::string with_params(std::string dsn,
                        std::initializer_list<std::pair<const char*, const char*>> params);

}  // namespace family::web
