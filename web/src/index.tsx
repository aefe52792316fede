import { render } from 'solid-js/web';

function App() {
  return (
    <main>
      <h1>Updraft</h1>
      <p>OTA console. The GraphQL API is at <a href="/graphql">/graphql</a>.</p>
    </main>
  );
}

render(() => <App />, document.getElementById('root')!);
