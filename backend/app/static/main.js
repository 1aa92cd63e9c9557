// The mini-app's shell: a small hash router, the tab bar, 长辈模式, and the log-in guard.
//
// Plain ES modules and Vue's in-browser template compiler: no build step, so what is in
// this folder is exactly what runs on the citizen's phone.

import { go, session, whenExpired } from "./api.js";
import { Home, Catalog, ItemGuide } from "./pages-catalog.js";
import { Login, RealName } from "./pages-login.js";
import { Apply, Applications, ApplicationDetail } from "./pages-apply.js";
import { Licences, LicenceDocument } from "./pages-licences.js";
import { LifeEvent, ApplyLifeEvent } from "./pages-life-event.js";
import { Rate } from "./pages-rate.js";
import { Ask } from "./pages-ask.js";
import { Me, Messages, Bindings } from "./pages-me.js";

const { createApp, reactive, computed, onMounted } = Vue;

// path pattern -> page; `login` pages need a token, `citizen` pages also a real-name binding
const ROUTES = [
  { pattern: "/", page: Home, title: "掌上办", tab: "home" },
  { pattern: "/catalog", page: Catalog, title: "办事大厅", tab: "catalog" },
  { pattern: "/item/:code", page: ItemGuide, title: "办事指南", tab: "catalog" },
  { pattern: "/life-event/:code", page: LifeEvent, title: "一件事一次办", tab: "home" },
  { pattern: "/apply-event/:code", page: ApplyLifeEvent, title: "一件事申请", citizen: true, tab: "home" },
  { pattern: "/login", page: Login, title: "登录" },
  { pattern: "/real-name", page: RealName, title: "实名认证", login: true },
  { pattern: "/apply/:code", page: Apply, title: "在线申请", citizen: true, tab: "catalog" },
  { pattern: "/applications", page: Applications, title: "我的办件", citizen: true, tab: "applications" },
  { pattern: "/applications/:key", page: ApplicationDetail, title: "办件详情", citizen: true, tab: "applications" },
  { pattern: "/licences", page: Licences, title: "我的证照", citizen: true, tab: "me" },
  { pattern: "/licences/:no", page: LicenceDocument, title: "电子证照", citizen: true, tab: "me" },
  { pattern: "/rate", page: Rate, title: "好差评", citizen: true, tab: "applications" },
  { pattern: "/ask", page: Ask, title: "我要问", tab: "home" },
  { pattern: "/messages", page: Messages, title: "我的消息", citizen: true, tab: "me" },
  { pattern: "/bindings", page: Bindings, title: "已绑定手机", citizen: true, tab: "me" },
  { pattern: "/me", page: Me, title: "我的", tab: "me" },
];

function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const route of ROUTES) {
    const want = route.pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((w, i) => {
      if (w.startsWith(":")) {
        params[w.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return w === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(qs || "")), full: raw };
}

const ELDER_KEY = "zwfw.elder"; // a display preference only, so localStorage is fine

const Shell = {
  template: `
    <van-nav-bar :title="title" :left-arrow="canGoBack" @click-left="back" fixed placeholder safe-area-inset-top>
      <template #right>
        <span class="elder-toggle" role="switch" :aria-checked="state.elder" @click="toggleElder">
          {{ state.elder ? '标准模式' : '长辈模式' }}
        </span>
      </template>
    </van-nav-bar>
    <main class="page">
      <component :is="current.page" :key="state.hash.full" :params="current.params" :query="state.hash.query"></component>
    </main>
    <van-tabbar :model-value="current.tab" fixed placeholder safe-area-inset-bottom @change="onTab">
      <van-tabbar-item name="home" icon="wap-home-o">首页</van-tabbar-item>
      <van-tabbar-item name="catalog" icon="apps-o">办事</van-tabbar-item>
      <van-tabbar-item name="applications" icon="orders-o">我的办件</van-tabbar-item>
      <van-tabbar-item name="me" icon="user-o">我的</van-tabbar-item>
    </van-tabbar>`,
  setup() {
    const state = reactive({ hash: parseHash(), elder: localStorage.getItem(ELDER_KEY) === "1" });
    const applyElder = () => document.documentElement.classList.toggle("elder", state.elder);
    applyElder();

    const current = computed(() => {
      const found = match(state.hash.path);
      if (!found) return { page: Home, params: {}, title: "掌上办", tab: "home" };
      const { route, params } = found;
      return { page: route.page, params, title: route.title, tab: route.tab || "" };
    });
    const title = computed(() => current.value.title);
    const canGoBack = computed(() => state.hash.path !== "/");

    // the guard: pages with a citizen's data need a live session (and a real-name binding)
    function guard() {
      const found = match(state.hash.path);
      if (!found) return true;
      const { route } = found;
      const s = session.get();
      if ((route.login || route.citizen) && !s) {
        go("/login?next=" + encodeURIComponent(state.hash.full), { replace: true });
        return false;
      }
      if (route.citizen && s && !s.citizen_id) {
        go("/real-name?next=" + encodeURIComponent(state.hash.full), { replace: true });
        return false;
      }
      return true;
    }

    function onHash() {
      state.hash = parseHash();
      if (guard()) window.scrollTo(0, 0);
    }

    onMounted(() => {
      window.addEventListener("hashchange", onHash);
      guard();
    });

    whenExpired((message) => {
      const here = parseHash();
      if (here.path === "/login") return;
      session.clear(message);
      go("/login?next=" + encodeURIComponent(here.full), { replace: true });
    });

    return {
      state,
      current,
      title,
      canGoBack,
      back: () => (history.length > 1 ? history.back() : go("/")),
      onTab: (name) => go({ home: "/", catalog: "/catalog", applications: "/applications", me: "/me" }[name]),
      toggleElder() {
        state.elder = !state.elder;
        localStorage.setItem(ELDER_KEY, state.elder ? "1" : "0");
        applyElder();
      },
    };
  },
};

const app = createApp(Shell);
app.use(vant);
app.mount("#app");
