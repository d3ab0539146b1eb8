// The framework's ceiling for bench/web.sh: a Pistache server with the same
// options and thread count as family-web (web/src/main.cpp) whose one
// handler answers every request with a constant small JSON body. Settings:
// FAMILY_WEB_THREADS (default two per CPU, as the service); it listens on
// 127.0.0.1, any free port, and prints "listening on http://HOST:PORT/" on
// stderr. SIGTERM or SIGINT stops it.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <pistache/endpoint.h>

namespace {

const std::string kBody =
    R"({"id":1,"first_name":"Ada","last_name":"Byron","father_id":null,"mother_id":null})";

class Handler : public Pistache::Http::Handler {
  public:
    HTTP_PROTOTYPE(Handler)
    void onRequest(const Pistache::Http::Request&,
                   Pistache::Http::ResponseWriter response) override {
        response.send(Pistache::Http::Code::Ok, kBody, MIME(Application, Json));
    }
};

}  // namespace

int main() {
    using namespace Pistache;
    // As many threads as family-web (FAMILY_WEB_THREADS, 8 per CPU by
    // default): the same server, without our code.
    int threads = 8 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    if (const char* v = std::getenv("FAMILY_WEB_THREADS"); v && *v) threads = std::atoi(v);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Http::Endpoint server(Address("127.0.0.1", Port(0)));
    server.init(Http::Endpoint::options()
                    .threads(threads)
                    .flags(Tcp::Options::ReuseAddr)
                    .maxRequestSize(64 * 1024)
                    .headerTimeout(std::chrono::seconds(10))
                    .bodyTimeout(std::chrono::seconds(30)));
    server.setHandler(Http::make_handler<Handler>());
    server.serveThreaded();
    std::fprintf(stderr, "trivial: listening on http://127.0.0.1:%u/\n",
                 static_cast<unsigned>(server.getPort()));
    int received = 0;
    sigwait(&signals, &received);
    server.shutdown();
    return 0;
}
