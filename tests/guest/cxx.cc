// cxx.cc - C++ with static libstdc++: exceptions thrown through several
// frames (unwinding through translated code), std::string, containers,
// algorithms, virtual calls.  Portable.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct shape {
    virtual ~shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
struct rect : shape {
    double w, h;
    rect(double a, double b) : w(a), h(b) {}
    double area() const override { return w * h; }
    std::string name() const override { return "rect"; }
};
struct tri : shape {
    double b, h;
    tri(double a, double c) : b(a), h(c) {}
    double area() const override { return b * h / 2; }
    std::string name() const override { return "tri"; }
};

static int depth_throw(int n)
{
    if (n == 0)
        throw std::runtime_error("bottom reached");
    std::string guard = "frame" + std::to_string(n);
    return depth_throw(n - 1) + (int)guard.size();
}

struct my_error {
    int code;
};

static void thrower(int i)
{
    if (i % 3 == 0) throw my_error{i};
    if (i % 3 == 1) throw std::out_of_range("index " + std::to_string(i));
    throw i;
}

int main()
{
    try {
        depth_throw(20);
    } catch (const std::exception &e) {
        std::printf("caught: %s\n", e.what());
    }
    int sum = 0;
    for (int i = 0; i < 300; i++) {
        try {
            thrower(i);
        } catch (const my_error &e) {
            sum += e.code;
        } catch (const std::out_of_range &e) {
            sum += (int)std::string(e.what()).size();
        } catch (int v) {
            sum -= v;
        }
    }
    std::printf("exception sum %d\n", sum);

    std::vector<std::unique_ptr<shape>> v;
    for (int i = 0; i < 100; i++) {
        if (i % 2) v.push_back(std::make_unique<rect>(i, i + 1));
        else v.push_back(std::make_unique<tri>(i, 2 * i));
    }
    std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return a->area() < b->area(); });
    double total = 0;
    std::map<std::string, int> count;
    for (auto &s : v) {
        total += s->area();
        count[s->name()]++;
    }
    std::printf("total area %.1f rect %d tri %d first %s\n", total, count["rect"], count["tri"],
                v.front()->name().c_str());
    std::string text;
    for (int i = 0; i < 1000; i++) text += std::to_string(i * i);
    std::printf("text %zu %zu\n", text.size(), text.find("99980001"));
    try {
        std::vector<int> small(3);
        std::printf("%d\n", small.at(10));
    } catch (const std::out_of_range &) {
        std::printf("at() threw\n");
    }
    return 0;
}
