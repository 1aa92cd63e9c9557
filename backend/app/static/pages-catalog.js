// 首页, 办事大厅 (catalog and search) and 办事指南 (an item's whole guide): public, no log-in.

import { api, go, session } from "./api.js";

const { ref, reactive, onMounted } = Vue;

export const Home = {
  template: `
    <div class="home">
      <div class="hero">
        <h1>政务服务 · 掌上办</h1>
        <p v-if="who">您好，{{ who }}</p>
        <p v-else>登录后可在线申请、查进度、亮证</p>
      </div>
      <van-search v-model="q" shape="round" placeholder="搜索事项，如 身份证 或 sfz" @search="search"></van-search>
      <van-grid :column-num="3" clickable class="shortcuts">
        <van-grid-item icon="apps-o" text="我要办" @click="goto('/catalog')"></van-grid-item>
        <van-grid-item icon="orders-o" text="我要查" @click="goto('/applications')"></van-grid-item>
        <van-grid-item icon="question-o" text="我要问" @click="goto('/ask')"></van-grid-item>
        <van-grid-item icon="star-o" text="我要评" @click="goto('/rate')"></van-grid-item>
        <van-grid-item icon="idcard" text="我的证照" @click="goto('/licences')"></van-grid-item>
        <van-grid-item icon="bell" text="我的消息" @click="goto('/messages')"></van-grid-item>
      </van-grid>
      <van-cell-group inset title="一件事一次办" v-if="events.length">
        <van-cell v-for="e in events" :key="e.code" :title="e.name" :label="e.description" is-link
                  @click="goto('/life-event/' + e.code)"></van-cell>
      </van-cell-group>
      <van-cell-group inset title="按部门查找" v-if="departments.length">
        <div class="chips">
          <van-tag v-for="d in departments" :key="d.code" plain round size="large" type="primary"
                   @click="goto('/catalog?department=' + d.code + '&title=' + encodeURIComponent(d.name))">{{ d.name }}</van-tag>
        </div>
      </van-cell-group>
      <p v-if="error" class="error-text">{{ error }}</p>
    </div>`,
  setup() {
    const q = ref("");
    const events = ref([]);
    const departments = ref([]);
    const error = ref("");
    const s = session.get();
    onMounted(async () => {
      try {
        [events.value, departments.value] = await Promise.all([
          api("/api/v1/catalog/life-events"),
          api("/api/v1/catalog/departments"),
        ]);
      } catch (err) {
        error.value = err.message;
      }
    });
    return {
      q,
      events,
      departments,
      error,
      who: s && s.name,
      goto: (path) => go(path),
      search: () => go("/catalog?q=" + encodeURIComponent(q.value.trim())),
    };
  },
};

export const Catalog = {
  props: ["params", "query"],
  template: `
    <div>
      <van-search v-model="q" shape="round" placeholder="搜索事项名称或拼音首字母" @search="search" @clear="search"></van-search>
      <p v-if="query.title" class="filter-note">{{ query.title }}
        <van-button size="mini" plain @click="clearFilter">清除筛选</van-button></p>
      <van-empty v-if="done && !items.length && !error" description="没有找到相关事项，换个说法试试"></van-empty>
      <van-cell-group inset>
        <van-cell v-for="item in items" :key="item.code" is-link class="item-cell" @click="open(item)">
          <template #title>
            <div class="item-name">{{ item.name }}</div>
            <div class="item-tags">
              <van-tag plain type="primary">{{ item.department_name }}</van-tag>
              <van-tag v-if="item.online" type="success">可网上办</van-tag>
              <van-tag v-if="item.instant_approval" type="warning">秒批</van-tag>
              <van-tag plain>{{ item.visits === 0 ? '零跑动' : '跑动' + item.visits + '次' }}</van-tag>
            </div>
          </template>
        </van-cell>
      </van-cell-group>
      <div class="more" v-if="cursor">
        <van-button block plain type="primary" :loading="loading" @click="load">加载更多</van-button>
      </div>
      <p v-if="error" class="error-text">{{ error }}</p>
    </div>`,
  setup(props) {
    const q = ref(props.query.q || "");
    const items = ref([]);
    const cursor = ref(null);
    const loading = ref(false);
    const done = ref(false);
    const error = ref("");
    async function load() {
      loading.value = true;
      error.value = "";
      try {
        const page = await api("/api/v1/catalog/items", {
          query: {
            q: props.query.q,
            department: props.query.department,
            life_event: props.query.life_event,
            limit: 20,
            cursor: cursor.value,
          },
        });
        items.value = items.value.concat(page.items);
        cursor.value = page.next_cursor;
      } catch (err) {
        error.value = err.message;
      } finally {
        loading.value = false;
        done.value = true;
      }
    }
    onMounted(load);
    return {
      q,
      items,
      cursor,
      loading,
      done,
      error,
      load,
      search: () => go("/catalog" + (q.value.trim() ? "?q=" + encodeURIComponent(q.value.trim()) : "")),
      clearFilter: () => go("/catalog"),
      open: (item) => go("/item/" + item.code),
    };
  },
};

export const ItemGuide = {
  props: ["params", "query"],
  template: `
    <div v-if="item" class="guide">
      <div class="guide-head">
        <h2>{{ item.name }}</h2>
        <p>{{ item.department_name }} · {{ item.type_name }}</p>
        <div class="item-tags">
          <van-tag v-if="item.online" type="success" size="medium">可网上办</van-tag>
          <van-tag v-if="item.instant_approval" type="warning" size="medium">秒批</van-tag>
          <van-tag v-if="item.on_the_spot" type="primary" size="medium">即办</van-tag>
        </div>
      </div>
      <van-cell-group inset title="办理时限与收费">
        <van-cell title="承诺时限" :value="limit(item.promised_limit_days)"></van-cell>
        <van-cell title="法定时限" :value="limit(item.legal_limit_days)"></van-cell>
        <van-cell title="到现场次数" :value="item.visits + ' 次'"></van-cell>
        <van-cell title="是否收费" :value="item.fee.charged ? (item.fee.standard || '收费') : '不收费'"></van-cell>
      </van-cell-group>
      <van-cell-group inset title="受理条件">
        <div class="text-block">{{ item.conditions }}</div>
      </van-cell-group>
      <van-cell-group inset title="申请材料">
        <van-cell v-for="m in item.materials" :key="m.name" :title="m.name"
                  :label="materialNote(m)">
          <template #value>
            <van-tag :type="m.required ? 'danger' : 'default'" plain>{{ m.required ? '必交' : '选交' }}</van-tag>
          </template>
        </van-cell>
      </van-cell-group>
      <van-cell-group inset title="办理流程">
        <van-steps :active="item.flow.length - 1" direction="horizontal">
          <van-step v-for="s in item.flow" :key="s">{{ s }}</van-step>
        </van-steps>
      </van-cell-group>
      <van-cell-group inset title="办理地点与时间">
        <div class="text-block">{{ item.location }}</div>
        <div class="text-block">{{ item.hours }}</div>
      </van-cell-group>
      <van-cell-group inset title="设定依据">
        <div class="text-block">{{ item.legal_basis }}</div>
      </van-cell-group>
      <van-cell-group inset title="咨询与投诉">
        <van-cell title="咨询" :label="item.contact"></van-cell>
        <van-cell title="投诉" :label="item.complaint"></van-cell>
      </van-cell-group>
      <p v-if="!item.online" class="hint">本事项需到现场办理：{{ item.location }}</p>
      <!-- kept in reach of the thumb while the long guide scrolls -->
      <div class="sticky-bar">
        <van-button round plain size="large" @click="ask">我要问</van-button>
        <van-button v-if="item.online" type="primary" round size="large" class="grow" @click="apply">在线申请</van-button>
      </div>
    </div>
    <van-loading v-else-if="!error" class="center" size="32">正在加载办事指南…</van-loading>
    <van-empty v-else image="error" :description="error"></van-empty>`,
  setup(props) {
    const item = ref(null);
    const error = ref("");
    onMounted(async () => {
      try {
        item.value = await api("/api/v1/catalog/items/" + encodeURIComponent(props.params.code));
      } catch (err) {
        error.value = err.message;
      }
    });
    return {
      item,
      error,
      limit: (days) =>
        days ? `${days} 个${item.value.limit_unit === "working" ? "工作日" : "自然日"}` : "即时办结",
      materialNote: (m) =>
        [m.form, m.copies ? m.copies + " 份" : "", m.source, m.note].filter(Boolean).join(" · "),
      apply: () => go("/apply/" + item.value.code),
      ask: () => go("/ask?item=" + item.value.code),
    };
  },
};
